"""Training on the loop: logged interactions joined with feedback, point in time.

The inference app logs one row per prediction (request id, prediction time, raw features,
model version...) to the interactions group and one row per feedback (request id, feedback
time, clicked) to the feedback group. A labelled training row exists only when the feedback
arrived *after* the prediction and *within* the label window; feedback later than the window,
or stamped before the prediction (clock skew, replays), never becomes a label. With `as_of`,
nothing recorded after that instant is seen, so a past training set can be rebuilt exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mloop.features import extract
from mloop.recipes.durations import parse_duration

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

AD_CLICK_FEATURES = ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]


def join_labels(interactions: pd.DataFrame, feedback: pd.DataFrame, *, window: str | timedelta,
                label: str = "click") -> pd.DataFrame:
    """Interactions with a `label` column from feedback that came after and within `window`.

    Args:
        interactions: rows with `request_id`, `event_time` (prediction time) and features.
        feedback: rows with `request_id`, `event_time` (feedback time), `clicked`.
        window: how long after a prediction a feedback still counts.
        label: name of the label column in the result.

    Returns:
        One row per labelled interaction (unlabelled ones are left out), with `label` as 0/1
        and `label_delay_s`, the seconds between prediction and feedback.
    """
    import pandas as pd

    span = parse_duration(window)
    left = interactions.copy()
    left["event_time"] = pd.to_datetime(left["event_time"], utc=True)
    right = feedback[["request_id", "event_time", "clicked"]].rename(columns={"event_time": "_feedback_time"})
    right["_feedback_time"] = pd.to_datetime(right["_feedback_time"], utc=True)
    merged = left.merge(right, on="request_id", how="inner")
    delay = merged["_feedback_time"] - merged["event_time"]
    valid = merged[(delay > pd.Timedelta(0)) & (delay <= pd.Timedelta(span))].copy()
    valid = valid.sort_values("_feedback_time").drop_duplicates("request_id", keep="first")
    valid[label] = valid["clicked"].astype(int)
    valid["label_delay_s"] = (valid["_feedback_time"] - valid["event_time"]).dt.total_seconds()
    return valid.drop(columns=["clicked", "_feedback_time"]).sort_values("event_time").reset_index(drop=True)


def interactions_training_set(ws: Workspace, *, interactions_group: str, feedback_group: str,
                              window: str | timedelta, as_of: datetime | None = None,
                              label: str = "click") -> pd.DataFrame:
    """Labelled interactions from the feature store, as known at `as_of` (default: now).

    Raises:
        FeatureGroupNotFound: a group does not exist (the app was never started).
    """
    interactions = extract(ws, interactions_group, as_of=as_of)
    feedback = extract(ws, feedback_group, as_of=as_of)
    if interactions.empty or feedback.empty:
        columns = [*interactions.columns, label, "label_delay_s"]
        return interactions.iloc[0:0].reindex(columns=columns)
    return join_labels(interactions, feedback, window=window, label=label)
