"""The point-in-time label join: a label counts only after the prediction and within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.recipes.interactions import join_labels

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    interactions = pd.DataFrame({
        "request_id": ["a", "b", "c", "d", "e"],
        "event_time": [T0] * 5,
        "age": [20, 30, 40, 50, 60],
        "prediction": [0.1, 0.2, 0.3, 0.4, 0.5],
    })
    feedback = pd.DataFrame({
        "request_id": ["a", "b", "c", "d", "zz"],
        "event_time": [T0 + timedelta(minutes=5),    # in window: clicked
                       T0 + timedelta(minutes=59),   # in window: not clicked
                       T0 + timedelta(hours=2),      # too late: no label
                       T0 - timedelta(seconds=1),    # before the prediction: never a label
                       T0 + timedelta(minutes=1)],   # no such interaction
        "clicked": [1, 0, 1, 1, 1],
    })
    return interactions, feedback


def test_only_feedback_after_and_within_the_window_labels() -> None:
    interactions, feedback = frames()
    out = join_labels(interactions, feedback, window="1h")
    assert list(out["request_id"]) == ["a", "b"]
    assert list(out["click"]) == [1, 0]
    assert list(out["label_delay_s"]) == [300.0, 3540.0]
    assert "age" in out and "prediction" in out


def test_a_longer_window_admits_late_feedback() -> None:
    interactions, feedback = frames()
    assert list(join_labels(interactions, feedback, window="3h")["request_id"]) == ["a", "b", "c"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(-7200, 7200), st.booleans()), max_size=40),
       st.integers(1, 7200))
def test_join_matches_brute_force(feedback_rows: list[tuple[int, int, bool]], window_s: int) -> None:
    feedback_rows = list({(i, d): (i, d, c) for i, d, c in feedback_rows}.values())  # no exact-time ties
    interactions = pd.DataFrame({"request_id": [f"r{i}" for i in range(15)],
                                 "event_time": [T0 + timedelta(seconds=60 * i) for i in range(15)]})
    feedback = pd.DataFrame({
        "request_id": [f"r{i}" for i, _, _ in feedback_rows],
        "event_time": [T0 + timedelta(seconds=60 * i + d) for i, d, _ in feedback_rows],
        "clicked": [int(c) for _, _, c in feedback_rows],
    })
    out = join_labels(interactions, feedback, window=timedelta(seconds=window_s))
    expected = {}
    for i in range(15):
        valid = sorted((d, c) for j, d, c in feedback_rows if j == i and 0 < d <= window_s)
        if valid:
            expected[f"r{i}"] = int(valid[0][1])  # the first feedback inside the window
    assert dict(zip(out["request_id"], out["click"], strict=True)) == expected
