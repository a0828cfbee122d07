"""Preprocess and feature-engineering steps.

`split` drops rows without a label and makes a train/test split: stratified random rows, all
records of an id on one side ("group"), or the newest records as the test set ("time"); see
`mloop.recipes.splitting`. Identifiers stay in the frames (a group split needs them) and are
left out of the features by the train step (`mloop.recipes.identifiers`). Imputation, encoding and
scaling are fitted later, inside the model, on the training split only (see
`mloop.model_format`), so serving accepts raw records. `engineer_features` adds derived
columns declared as data; the same declarations go into the model.
"""

from __future__ import annotations

import pandas as pd  # the DSL resolves step annotations at import time

from mloop.errors import InvalidInput, MloopError
from mloop.model_format import derived as derived_features
from mloop.model_format import infer_task, with_derived
from mloop.pipelines import current_context, step
from mloop.recipes.identifiers import roles
from mloop.recipes.splitting import describe_ids, overlap_warning, split_positions

# Seed 003's formulas exactly: the ratios add 1e-6 to the denominator, and dist_to_bay is the
# Euclidean distance in degrees to (37.77, -122.42).
HOUSING_DERIVED: list[dict] = [
    {"name": "bedroom_ratio", "op": "ratio_plus", "args": ["AveBedrms", "AveRooms", 1e-6]},
    {"name": "people_per_household", "op": "ratio_plus", "args": ["Population", "AveOccup", 1e-6]},
    {"name": "dist_to_bay", "op": "euclidean", "args": ["Latitude", "Longitude", 37.77, -122.42]},
]


def split_frame(data: pd.DataFrame, target: str, *, test_size: float = 0.2, seed: int = 42,
                task: str = "auto", drop: list[str] | None = None,
                method: str = "random") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the labelled rows (`method`: random, group or time) after dropping the `drop` columns."""
    if target not in data.columns:
        raise InvalidInput(f"target column '{target}' is not in the data",
                           hint="columns: " + ", ".join(map(str, data.columns)))
    if not 0 < test_size < 1:
        raise InvalidInput(f"test_size must be between 0 and 1, got {test_size}")
    labelled = data[data[target].notna()]
    labelled.attrs = dict(data.attrs)
    dropped = sorted(set(drop or []) & set(labelled.columns))
    if dropped:
        print(f"dropping excluded columns: {', '.join(dropped)}")
        labelled = labelled.drop(columns=dropped)
    kind = task if task != "auto" else infer_task(labelled[target])
    stratify = labelled[target].astype(str).to_numpy() if kind == "classification" else None
    role = roles(labelled)
    train_rows, test_rows = split_positions(labelled, method=method, test_size=test_size, seed=seed,
                                            stratify=stratify, id_column=role["id"], time_column=role["event_time"])
    train, test = labelled.iloc[train_rows], labelled.iloc[test_rows]
    how = {"random": " (stratified)" if stratify is not None else "", "group": " (grouped by id)",
           "time": " (newest records to test)"}[method]
    print(f"split {describe_ids(labelled, role['id'])} with a label: {len(train):,} train / "
          f"{len(test):,} test, split={method}{how}")
    warning = overlap_warning(train, test, role["id"])
    if warning:
        print(warning)
    return train.reset_index(drop=True), test.reset_index(drop=True)


@step(name="preprocess", outputs=("train", "test"))
def split(data: pd.DataFrame, target: str, test_size: float = 0.2, seed: int = 42, task: str = "auto",
          drop: list | None = None, split: str = "random") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test split: random (stratified for classification), group (by id) or time."""
    train, test = split_frame(data, target, test_size=test_size, seed=seed, task=task, drop=list(drop or []),
                              method=split)
    ident = roles(train)["id"]
    if ident in train.columns:  # what `mloop run` reports: ids on both sides inflate the metric
        shared = set(train[ident].unique()) & set(test[ident].unique())
        try:
            current_context().log_metrics({"ids_in_train_and_test": len(shared),
                                           "test_rows_of_train_ids": int(test[ident].isin(shared).sum())})
        except MloopError:  # called as a plain function, outside a run
            pass
    return train, test


def add_derived(frame: pd.DataFrame, derived: list[dict]) -> pd.DataFrame:
    """`frame` with the derived columns (the model computes the same ones from raw records)."""
    declared = derived_features.check(list(derived))
    absent = [c for c in derived_features.input_columns(declared) if c not in frame.columns]
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
