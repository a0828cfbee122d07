"""Identifiers and personal data are left out of the features, each with its reason; a split
grouped by id keeps every id on one side, and a random split warns when ids straddle it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mloop.errors import InvalidInput
from mloop.recipes.datasets.seed_file import seed_shaped_ad_clicks
from mloop.recipes.identifiers import choose_features, set_roles
from mloop.recipes.steps.prepare import split_frame
from mloop.recipes.steps.training import fit_model


@pytest.fixture(scope="module")
def seed_rows() -> pd.DataFrame:
    frame = seed_shaped_ad_clicks(rows=2_000, ids=800, once=700)
    frame["event_time"] = pd.Timestamp("2024-01-01", tz="UTC")
    return set_roles(frame, "id", "event_time", "ad-clicks")


def test_ids_event_time_and_names_are_left_out_with_reasons(seed_rows: pd.DataFrame) -> None:
    chosen, left_out = choose_features(seed_rows, "click")
    assert chosen == ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]
    assert left_out["id"] == "record id" and left_out["event_time"] == "event time"
    assert left_out["full_name"] == "identifies a person or row (800 distinct values for 800 ids)"


def test_a_unique_row_number_and_unique_text_are_identifiers_without_roles() -> None:
    frame = pd.DataFrame({"row": range(100), "email": [f"u{i}@x.org" for i in range(100)],
                          "city": ["a", "b"] * 50, "income": [float(i) + 0.5 for i in range(100)],
                          "y": [0, 1] * 50})
    chosen, left_out = choose_features(frame, "y")
    assert chosen == ["city", "income"] and set(left_out) == {"row", "email"}
    assert "unique per row" in left_out["row"] and "identifies a row" in left_out["email"]


def test_features_and_exclude_override_the_rule(seed_rows: pd.DataFrame) -> None:
    chosen, left_out = choose_features(seed_rows, "click", features=["age", "full_name"])
    assert chosen == ["age", "full_name"] and left_out["gender"] == "not in features"
    chosen, left_out = choose_features(seed_rows, "click", exclude=["gender"])
    assert "gender" not in chosen and left_out["gender"] == "excluded (exclude=)"
    with pytest.raises(InvalidInput, match="'agee'"):
        choose_features(seed_rows, "click", exclude=["agee"])


def test_model_metadata_lists_used_and_left_out(seed_rows: pd.DataFrame) -> None:
    model = fit_model(seed_rows, "click", n_estimators=5, max_depth=2)
    assert "full_name" not in model.feature_names and "id" not in model.feature_names
    assert set(model.metadata["features_left_out"]) == {"id", "full_name", "event_time"}
    assert model.metadata["features_used"] == model.feature_names


def test_group_split_keeps_each_id_on_one_side(seed_rows: pd.DataFrame, capsys: Any) -> None:
    train, test = split_frame(seed_rows, "click", method="group")
    assert not set(train["id"]) & set(test["id"]) and len(train) + len(test) == len(seed_rows)
    assert 0.1 <= len(test) / len(seed_rows) <= 0.3
    assert "warning" not in capsys.readouterr().out
    split_frame(seed_rows, "click", method="random")
    out = capsys.readouterr().out
    assert "ids have records in both train and test" in out and 'split="group"' in out
    assert "2,000 rows of 800 ids (100 ids repeat)" in out


def test_time_split_tests_on_the_newest_records(seed_rows: pd.DataFrame) -> None:
    frame = seed_rows.copy()
    frame["event_time"] = pd.date_range("2024-01-01", periods=len(frame), freq="min", tz="UTC")
    train, test = split_frame(frame, "click", method="time", test_size=0.25)
    assert len(test) == 500 and train["event_time"].max() < test["event_time"].min()
    with pytest.raises(InvalidInput, match="record id"):
        split_frame(pd.DataFrame({"a": range(50), "click": [0, 1] * 25}), "click", method="group")
    with pytest.raises(InvalidInput, match="not one of"):
        split_frame(frame, "click", method="stratified")
