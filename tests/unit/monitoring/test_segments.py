"""Drift split by model version and variant, on interaction rows shaped like the app's log:
repeated request ids, missing features, versions that came back as floats or strings, a shadow
flag in several spellings, and a version with too few rows to judge."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mloop.config import MonitoringSettings
from mloop.demo.traffic import users
from mloop.monitoring.segments import INSUFFICIENT, segment_keys, split_drift

FEATURES = ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]


def training(seed: int = 0) -> pd.DataFrame:
    from mloop.recipes.datasets import ad_clicks

    return ad_clicks(2000, seed=seed)


def rows(records: list[dict[str, Any]], **meta: Any) -> pd.DataFrame:
    frame = pd.DataFrame(records)
    for key, value in meta.items():
        frame[key] = [value] * len(frame)
    frame["prediction"] = 0.3
    return frame


def traffic() -> pd.DataFrame:
    """v1 production: like training; v2 canary: shifted; v3 canary-b: 12 rows only."""
    v1 = rows(users(300, seed=1), model_name="ad-click-ctr", model_version=1.0, variant="production")
    v2 = rows(users(200, seed=2, shifted=True), model_name="ad-click-ctr", model_version=2.0, variant="canary")
    v3 = rows(users(12, seed=3), model_name="ad-click-ctr", model_version=3.0, variant="canary-b")
    frame = pd.concat([v1, v2, v3], ignore_index=True)
    frame["request_id"] = [f"r{i % 400}" for i in range(len(frame))]  # ids repeat (retries)
    frame.loc[frame.index[::7], "gender"] = None  # missing values, as the app logs empty fields
    frame.loc[frame.index[::11], "age"] = float("nan")
    return frame


def by_version() -> Any:
    refs = {1: training(0), 2: training(1), 3: training(2)}
    calls: list[tuple[Any, Any]] = []

    def reference_for(model: str | None, version: int | None) -> Any:
        calls.append((model, version))
        return refs[version or 1], {"model": model, "version": version}, None

    return reference_for, calls


def test_each_version_is_judged_against_its_own_training_data() -> None:
    reference_for, calls = by_version()
    segments = split_drift(traffic(), FEATURES, MonitoringSettings(), reference_for)
    found = {(s.model_version, s.variant): s for s in segments}
    assert set(found) == {(1, "production"), (2, "canary"), (3, "canary-b")}
    assert found[1, "production"].status == "ok", found[1, "production"].reasons
    assert found[2, "canary"].status == "drift"
    assert {f.feature for f in found[2, "canary"].features if f.drifted} >= {"age", "device_type", "ad_position"}
    assert found[1, "production"].rows == 300 and found[2, "canary"].rows == 200
    assert sorted(calls) == [("ad-click-ctr", 1), ("ad-click-ctr", 2)]  # never for the 12-row slice
    assert [s.rows for s in segments] == [300, 200, 12]  # most traffic first


def test_a_version_with_too_few_rows_says_insufficient_data_not_a_number() -> None:
    reference_for, _ = by_version()
    segments = split_drift(traffic(), FEATURES, MonitoringSettings(min_rows=30), reference_for)
    small = next(s for s in segments if s.model_version == 3)
    assert small.status == INSUFFICIENT and small.rows == 12
    assert small.features == [] and small.prediction == {}
    assert small.reasons == ["only 12 interactions (< min_rows 30)"]
    data = small.to_dict()
    assert data["status"] == "insufficient data" and data["features"] == []
    assert data["label"] == "ad-click-ctr v3 · canary-b"


def test_versions_logged_as_floats_strings_or_missing_are_one_key_each() -> None:
    frame = pd.DataFrame({
        "model_name": ["m", "m", "m", "m", None, "m"],
        "model_version": [2.0, "2", 2, float("nan"), 1.0, " 3 "],
        "variant": ["canary", "canary", "canary ", None, "production", ""],
    })
    keys = segment_keys(frame)
    assert keys["model_version"].tolist() == [2, 2, 2, None, 1, 3]
    assert keys["variant"].tolist() == ["canary", "canary", "canary", None, "production", None]
    assert keys["model_name"].tolist() == ["m", "m", "m", "m", None, "m"]
    assert keys["shadow"].tolist() == [False] * 6  # no shadow column: nothing is a shadow


def test_rows_without_a_version_are_their_own_slice_and_named_so() -> None:
    frame = traffic()
    frame.loc[frame.index[:40], "model_version"] = float("nan")
    frame.loc[frame.index[:40], "variant"] = None
    reference_for, calls = by_version()
    segments = split_drift(frame, FEATURES, MonitoringSettings(), reference_for)
    unknown = next(s for s in segments if s.model_version is None)
    assert unknown.rows == 40 and unknown.label == "ad-click-ctr v? · (no variant)"
    assert unknown.status in ("ok", "drift") and ("ad-click-ctr", None) in calls


@pytest.mark.parametrize("flag", [True, "true", 1.0, "1"])
def test_shadow_rows_are_their_own_variant(flag: Any) -> None:
    live = rows(users(100, seed=4), model_name="m", model_version=1, variant="production", shadow=False)
    shadow = rows(users(100, seed=4), model_name="m", model_version=2, variant="production", shadow=flag)
    shadow["shadow"] = shadow["shadow"].astype(object)
    shadow.loc[shadow.index[:3], "shadow"] = None  # an unflagged row is a live one
    frame = pd.concat([live, shadow], ignore_index=True)
    reference_for, _ = by_version()
    segments = split_drift(frame, FEATURES, MonitoringSettings(), reference_for)
    labels = {s.label: s.rows for s in segments}
    assert labels == {"m v1 · production": 100, "m v2 · production (shadow)": 97, "m v2 · production": 3}
    assert next(s for s in segments if s.shadow).to_dict()["shadow"] is True
