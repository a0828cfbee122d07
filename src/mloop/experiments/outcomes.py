"""The outcome of each prediction, from the app's logs: interactions joined to feedback.

The inference app logs every prediction (request id, time, model version, variant, endpoint)
to the interactions group and each user's feedback (clicked or not) to the feedback group, keyed
by the same request id. For `ctr` a prediction's outcome is final when

- feedback came after the prediction and within the label window: clicked or not, as it says;
- or the label window has closed without such feedback: **no click** (users who do not click
  rarely say so; feedback later than the window, or stamped before the prediction, is ignored,
  the same point-in-time rule as training on interactions).

Predictions whose window is still open and that have no feedback yet are *pending*: counted
neither way, so a silent user is never taken for a non-clicker before the window has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mloop.features import extract
from mloop.recipes.durations import parse_duration

if TYPE_CHECKING:
    import pandas as pd

    from mloop.experiments.records import Experiment
    from mloop.store import Workspace

RULE = ("a prediction counts once its outcome is final: a click or a no-click reported within {window} after "
        "it, or no feedback within {window} (counted as no click); predictions younger than {window} without "
        "feedback are pending")


@dataclass(frozen=True)
class Counts:
    """One variant's outcomes so far."""

    samples: int  # predictions with a final outcome
    outcomes: int  # of which clicked
    pending: int  # predictions still inside their label window without feedback


def variant_counts(ws: Workspace, exp: Experiment, now: datetime | None = None) -> dict[str, Counts]:
    """Counts per variant of `exp` (pinned model versions, since the start, until it ended)."""
    s = exp.settings
    interactions = extract(ws, s["interactions_group"], columns=["endpoint", "variant", "model_version"])
    feedback = extract(ws, s["feedback_group"], columns=["clicked"])
    return count_outcomes(interactions, feedback, exp, now or datetime.now(UTC))


def count_outcomes(interactions: pd.DataFrame, feedback: pd.DataFrame, exp: Experiment,
                   now: datetime) -> dict[str, Counts]:
    """The rule above on two frames (`request_id`, `event_time`, ...); separate for testing."""
    import pandas as pd

    window = pd.Timedelta(parse_duration(exp.settings["label_window"]))
    until = exp.ended_at or now
    rows = interactions.copy()
    rows["event_time"] = pd.to_datetime(rows["event_time"], utc=True)
    rows = rows[(rows["endpoint"] == exp.endpoint) & (rows["event_time"] >= pd.Timestamp(exp.started_at))
                & (rows["event_time"] <= pd.Timestamp(until))]
    fb = feedback[["request_id", "event_time", "clicked"]].rename(columns={"event_time": "_fb_time"})
    fb["_fb_time"] = pd.to_datetime(fb["_fb_time"], utc=True)
    merged = rows.merge(fb, on="request_id", how="left")
    delay = merged["_fb_time"] - merged["event_time"]
    labelled = (delay > pd.Timedelta(0)) & (delay <= window)
    closed = (pd.Timestamp(now) - merged["event_time"]) >= window
    final = labelled | closed
    clicked = labelled & (merged["clicked"].fillna(0).astype(int) == 1)
    out: dict[str, Counts] = {}
    for arm in exp.variants:
        mine = (merged["variant"] == arm["name"]) & (merged["model_version"] == arm["model_version"])
        out[arm["name"]] = Counts(samples=int((mine & final).sum()), outcomes=int((mine & clicked).sum()),
                                  pending=int((mine & ~final).sum()))
    return out
