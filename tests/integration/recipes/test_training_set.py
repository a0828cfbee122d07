"""The point-in-time training-set step inside a pipeline: entity rows get the feature values as
of their own time, and the group's data version is part of the cache key."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mloop.pipelines import load_artifact, pipeline, run_pipeline, step
from mloop.recipes.steps import training_set


@step
def entities(when: str) -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 1, 2], "event_time": pd.to_datetime([when, "2030-01-01", when], utc=True),
                         "label": [0, 1, 1]})


@pipeline(name="pit-test")
def pit_test(group: str = "people", when: str = "2024-01-02") -> None:
    training_set(entities(when), group, features=["score"])


def test_training_set_is_point_in_time_and_cached_by_data_version(workspace: Any, tmp_path: Any) -> None:
    from mloop.features import Feature, FeatureGroupSpec, create_group, ingest

    ws = workspace
    create_group(ws, FeatureGroupSpec(name="people", record_identifier="id", event_time="event_time", features=[
        Feature(name="id", type="int", nullable=False), Feature(name="score", type="float"),
        Feature(name="event_time", type="timestamp")]))
    first = tmp_path / "a.csv"
    first.write_text("id,score,event_time\n1,0.1,2024-01-01T00:00:00Z\n2,0.2,2024-01-01T00:00:00Z\n")
    ingest(ws, first, "people")
    record = run_pipeline(ws, pit_test, tracking=False)
    assert record.status == "Succeeded", record.error
    frame = load_artifact(ws, record.id, "training-set")
    assert list(frame["score"]) == [0.1, 0.1, 0.2]

    later = tmp_path / "b.csv"
    later.write_text("id,score,event_time\n1,0.9,2025-06-01T00:00:00Z\n")
    ingest(ws, later, "people")
    again = run_pipeline(ws, pit_test, tracking=False)
    assert again.step("entities").status == "Cached"
    assert again.step("training-set").status == "Succeeded"  # new data version: not cached
    frame = load_artifact(ws, again.id, "training-set")
    assert list(frame["score"]) == [0.1, 0.9, 0.2]  # the 2030 row sees the 2025 value, the 2024 row does not
