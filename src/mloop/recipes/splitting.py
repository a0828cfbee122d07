"""Train/test splits for data with repeated ids: random, grouped by id, or by event time.

When ids repeat, a random split puts records of the same id on both sides: a model that
recognises the id (its age, its habits, its name) scores well on a test set it has half seen,
and the metric overstates how it does on new ids. On the seed's ad-click file, where the label
is "this person appears more than once", that is AUC ~0.73 (random) against ~0.5 (grouped).
`split="group"` keeps all records of an id on one side; `split="time"` tests on the newest
records (event time, then ingestion and row order, as the offline store orders them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SPLITS = ("random", "group", "time")


def split_positions(frame: pd.DataFrame, *, method: str, test_size: float, seed: int,
                    stratify: np.ndarray | None, id_column: str, time_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row positions of `frame` for `method` (see the module doc).

    Raises:
        InvalidInput: an unknown method, or group/time without the column it needs.
    """
    import numpy as np

    if method not in SPLITS:
        raise InvalidInput(f"split='{method}' is not one of: {', '.join(SPLITS)}",
                           hint="random: rows; group: all records of an id on one side; time: newest to test")
    if method == "random":
        return split_indices(stratify, len(frame), test_size, seed)
    column = id_column if method == "group" else time_column
    if not column or column not in frame.columns:
        raise InvalidInput(f"split='{method}' needs the {'record id' if method == 'group' else 'event time'} "
                           "column, and this data has none",
                           hint="Extract from a feature group (its id and event time come along), or use "
                           "split='random'.")
    if method == "time":
        order = np.arange(len(frame))  # the offline store's order: event time, ingestion, row
        order = order[np.argsort(frame[column].to_numpy(), kind="stable")]
        cut = len(frame) - round(len(frame) * test_size)
        return np.sort(order[:cut]), np.sort(order[cut:])
    ids = frame[column].to_numpy()
    unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    shuffled = np.random.default_rng(seed).permutation(len(unique))
    filled = np.cumsum(counts[shuffled])
    test_ids = shuffled[: int(np.searchsorted(filled, len(frame) * test_size)) + 1]
    in_test = np.isin(inverse, test_ids)
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def overlap_warning(train: pd.DataFrame, test: pd.DataFrame, id_column: str) -> str | None:
    """The warning a user needs when the same ids sit in train and test, else None."""
    if not id_column or id_column not in train.columns:
        return None
    shared = set(train[id_column].unique()) & set(test[id_column].unique())
    if not shared:
        return None
    rows = int(test[id_column].isin(shared).sum())
    return (f"warning: {len(shared):,} ids have records in both train and test ({rows:,} of {len(test):,} "
            f"test rows): the model can recognise an id it was trained on, so the test metric overstates "
            f"how it does on new ids. Use split=\"group\" (all records of an id on one side) to measure that.")


def describe_ids(frame: pd.DataFrame, id_column: str) -> str:
    """ "10,000 rows of 4,000 ids (500 ids repeat)" for a frame with an id column."""
    if not id_column or id_column not in frame.columns:
        return f"{len(frame):,} rows"
    counts = frame[id_column].value_counts()
    repeated = int((counts > 1).sum())
    return f"{len(frame):,} rows of {len(counts):,} ids ({repeated:,} ids repeat)"


def split_indices(labels: np.ndarray | None, n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row positions; stratified per label when `labels` is given."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        cut = round(n * test_size)
        return np.sort(order[cut:]), np.sort(order[:cut])
    test_parts, train_parts = [], []
    for value in np.unique(labels):
        rows = rng.permutation(np.nonzero(labels == value)[0])
        cut = max(1, round(len(rows) * test_size)) if len(rows) > 1 else 0
        test_parts.append(rows[:cut])
        train_parts.append(rows[cut:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))
