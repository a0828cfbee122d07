"""Training on the loop: the step that puts labelled interactions into a training set.

`training_source` picks the rows: "features" (the feature group only, the default and the
behaviour before this step existed), "interactions" (what the inference app logged, labelled by
feedback within `label_window`, point in time) or "both". The interactions and feedback groups
are `FeatureGroupName` inputs, so their data versions join the cache key and lineage; left None
(features only) they are not read and lineage lists only the feature group.
"""

from __future__ import annotations

import pandas as pd  # the DSL resolves step annotations at import time

from mloop.errors import InvalidInput
from mloop.pipelines import current_context, step
from mloop.pipelines.typecheck import FeatureGroupName
from mloop.recipes.interactions import interactions_training_set

SOURCES = ("features", "interactions", "both")


def combine(raw: pd.DataFrame, labelled: pd.DataFrame, training_source: str, target: str) -> pd.DataFrame:
    """The training rows for `training_source`, in the feature group's columns."""
    if training_source not in SOURCES:
        raise InvalidInput(f"unknown training_source '{training_source}'", hint="one of: " + ", ".join(SOURCES))
    if training_source == "features":
        return raw
    if labelled.empty:
        raise InvalidInput("no labelled interactions to train on (no feedback within the label window)",
                           hint="Send traffic and feedback through `mloop app`, or widen label_window.")
    columns = [c for c in raw.columns if c in labelled.columns or c == target]
    rows = labelled.reindex(columns=columns)
    rows[target] = labelled[target].astype(raw[target].dtype if target in raw else "int64")
    out = rows.reset_index(drop=True) if training_source == "interactions" else pd.concat(
        [raw, rows], ignore_index=True)
    out.attrs = dict(raw.attrs)  # which columns are the id and event time (see recipes.identifiers)
    return out


@step(name="join_interactions")
def join_interactions(raw: pd.DataFrame, training_source: str, interactions_group: FeatureGroupName,
                      feedback_group: FeatureGroupName, label_window: str, target: str) -> pd.DataFrame:
    """Rows to train on: the feature group, labelled interactions, or both (see `training_source`)."""
    if training_source == "features":
        return raw
    ws = current_context().workspace
    app = ws.settings.app
    labelled = interactions_training_set(ws, interactions_group=interactions_group or app.interactions_group,
                                         feedback_group=feedback_group or app.feedback_group,
                                         window=label_window, label=target)
    out = combine(raw, labelled, training_source, target)
    current_context().log_metrics({"labelled_interactions": len(labelled), "training_rows": len(out)})
    print(f"training on {training_source}: {len(labelled)} labelled interactions "
          f"(window {label_window}), {len(out)} rows in all")
    return out
