"""Preprocess and feature-engineering steps.

`split` drops rows without a label and identifier-like text columns (names, ids: one value per
row teaches a model nothing) and makes a stratified train/test split. Imputation, encoding and
scaling are fitted later, inside the model, on the training split only (see
`mloop.recipes.model`), so serving accepts raw records. `engineer_features` adds derived
columns declared as data; the same declarations go into the model.
"""

from __future__ import annotations

import pandas as pd  # the DSL resolves step annotations at import time

from mloop.errors import InvalidInput
from mloop.pipelines import step

# Seed 003's formulas exactly: the ratios add 1e-6 to the denominator, and dist_to_bay is the
# Euclidean distance in degrees to (37.77, -122.42).
HOUSING_DERIVED: list[dict] = [
    {"name": "bedroom_ratio", "op": "ratio_plus", "args": ["AveBedrms", "AveRooms", 1e-6]},
    {"name": "people_per_household", "op": "ratio_plus", "args": ["Population", "AveOccup", 1e-6]},
    {"name": "dist_to_bay", "op": "euclidean", "args": ["Latitude", "Longitude", 37.77, -122.42]},
]


def id_like_columns(frame: pd.DataFrame, target: str) -> list[str]:
    """Text columns with (almost) one distinct value per row."""
    import pandas as pd

    rows = len(frame)
    if rows < 20:
        return []
    return [c for c in frame.columns if c != target
            and not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
            and frame[c].nunique(dropna=True) > 0.5 * rows]


def split_frame(data: pd.DataFrame, target: str, *, test_size: float = 0.2, seed: int = 42,
                task: str = "auto", drop: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified (classification) or random split after dropping unlabelled rows and id-like columns."""
    from mloop.recipes.metrics import split_indices
    from mloop.recipes.model import infer_task

    if target not in data.columns:
        raise InvalidInput(f"target column '{target}' is not in the data",
                           hint="columns: " + ", ".join(map(str, data.columns)))
    if not 0 < test_size < 1:
        raise InvalidInput(f"test_size must be between 0 and 1, got {test_size}")
    labelled = data[data[target].notna()]
    dropped = sorted({*(drop or []), *id_like_columns(labelled, target)} & set(labelled.columns))
    if dropped:
        print(f"dropping identifier-like or excluded columns: {', '.join(dropped)}")
        labelled = labelled.drop(columns=dropped)
    kind = task if task != "auto" else infer_task(labelled[target])
    stratify = labelled[target].astype(str).to_numpy() if kind == "classification" else None
    train_rows, test_rows = split_indices(stratify, len(labelled), test_size, seed)
    train, test = labelled.iloc[train_rows], labelled.iloc[test_rows]
    print(f"split {len(labelled)} labelled rows: {len(train)} train / {len(test)} test"
          f"{' (stratified)' if stratify is not None else ''}")
    return train.reset_index(drop=True), test.reset_index(drop=True)


@step(name="preprocess", outputs=("train", "test"))
def split(data: pd.DataFrame, target: str, test_size: float = 0.2, seed: int = 42, task: str = "auto",
          drop: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test split (stratified for classification); preprocessing is fitted on train only."""
    return split_frame(data, target, test_size=test_size, seed=seed, task=task, drop=list(drop or []))


def add_derived(frame: pd.DataFrame, derived: list[dict]) -> pd.DataFrame:
    """`frame` with the derived columns (the model computes the same ones from raw records)."""
    from mloop.recipes.derived import check, input_columns
    from mloop.recipes.preprocess import with_derived

    declared = check(list(derived))
    absent = [c for c in input_columns(declared) if c not in frame.columns]
    if absent:
        raise InvalidInput(f"derived features read columns that are not in the data: {', '.join(absent)}")
    return with_derived(frame, declared)


@step(name="feature-engineering", outputs=("train", "test"))
def engineer_features(train: pd.DataFrame, test: pd.DataFrame,
                      derived: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add derived columns (ratios, distances) to both splits; no fitting, so no leakage."""
    derived = list(derived or [])
    names = ", ".join(d["name"] for d in derived) or "none"
    print(f"derived features: {names}")
    return add_derived(train, derived), add_derived(test, derived)
