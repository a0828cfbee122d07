"""The generated stand-in for the seed's ad_click_dataset.csv has the real file's properties."""

from __future__ import annotations

import csv
from pathlib import Path

from mloop.recipes.datasets.seed_file import COLUMNS, seed_shaped_ad_clicks, write_seed_shaped_csv


def test_rows_have_the_real_files_properties() -> None:
    frame = seed_shaped_ad_clicks()
    assert list(frame.columns) == COLUMNS and len(frame) == 10_000  # no event-time column
    per_id = frame["id"].value_counts()
    assert len(per_id) == 4_000 and (per_id == 1).sum() == 3_500
    assert per_id[per_id > 1].min() >= 3 and per_id.max() >= 20
    assert 0.62 <= frame["click"].mean() <= 0.68
    repeated = frame["id"].map(per_id) > 1
    assert frame.loc[repeated, "click"].mean() > 0.9 > 0.1 > frame.loc[~repeated, "click"].mean()
    for column in COLUMNS[2:8]:
        assert 0.18 <= frame[column].isna().mean() <= 0.5, column
    assert 0.05 <= frame.notna().all(axis=1).mean() <= 0.11
    names = frame.groupby("id")["full_name"].nunique()
    assert (names == 1).all() and frame["full_name"].nunique() == 4_000  # one personal name per id
    assert frame.equals(seed_shaped_ad_clicks())  # deterministic


def test_csv_writes_ages_as_floats_and_empty_cells(tmp_path: Path) -> None:
    path = write_seed_shaped_csv(tmp_path / "ad_click_dataset.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COLUMNS and len(rows) == 10_000
    ages = [r["age"] for r in rows if r["age"]]
    assert ages and all(a.endswith(".0") for a in ages)
    assert sum(1 for r in rows if r["gender"] == "") > 1_000
