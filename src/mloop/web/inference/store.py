"""Where interactions and feedback live: two feature groups, written through `put_records`.

The interactions group is keyed by request id with the prediction time as event time; the
feedback group is keyed by the same request id with the feedback time as event time, so the
training side can join them point in time (a label counts only if it came after the prediction).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mloop.errors import Conflict, NotFound
from mloop.features import create_group, get_group, get_online, put_records
from mloop.features.schema import Feature, FeatureGroupSpec
from mloop.store.locks import file_lock
from mloop.web.inference.schemas import CATEGORIES

if TYPE_CHECKING:
    from mloop.config import AppSettings
    from mloop.store import Workspace

INTERACTION_COLUMNS: dict[str, str] = {
    "request_id": "string", "event_time": "timestamp", "age": "int",
    **{name: "string" for name in CATEGORIES},
    "prediction": "float", "model_name": "string", "model_version": "int", "variant": "string",
    "latency_ms": "float", "endpoint": "string",
    # what the model never saw in the record, as the endpoint reported it ("gender:unknown_category, ...")
    "input_issues": "string",
}
FEEDBACK_COLUMNS: dict[str, str] = {
    "request_id": "string", "event_time": "timestamp", "clicked": "int",
    "model_version": "int", "variant": "string",
}


class InteractionStore:
    """The app's two feature groups in workspace `ws` (created when missing)."""

    def __init__(self, ws: Workspace, settings: AppSettings) -> None:
        self.ws = ws
        self.interactions_group = settings.interactions_group
        self.feedback_group = settings.feedback_group
        self.logs_input_issues = True

    def ensure_groups(self) -> None:
        """Create the interactions and feedback groups unless they exist."""
        ensure_group(self.ws, self.interactions_group, INTERACTION_COLUMNS,
                     "Predictions served by the inference app (one row per request id).")
        ensure_group(self.ws, self.feedback_group, FEEDBACK_COLUMNS,
                     "What users did after a prediction (clicked or not), keyed by request id.")
        # an interactions group made by an older mloop has no input_issues column: log without it
        columns = {f.name for f in get_group(self.ws, self.interactions_group).spec.features}
        self.logs_input_issues = "input_issues" in columns

    def write_interactions(self, rows: list[dict[str, Any]]) -> None:

        put_records(self.ws, self.interactions_group, rows)

    def write_feedback(self, rows: list[dict[str, Any]]) -> None:

        put_records(self.ws, self.feedback_group, rows)

    @contextmanager
    def feedback_lock(self) -> Iterator[None]:
        """An exclusive lock (a file lock in `.mloop/locks/`) around checking and writing feedback."""
        with file_lock(self.ws.state_dir / "locks" / f"feedback-{self.feedback_group}.lock"):
            yield

    def get_interaction(self, request_id: str) -> dict[str, Any] | None:
        return _online(self.ws, self.interactions_group, request_id)

    def get_feedback(self, request_id: str) -> dict[str, Any] | None:
        return _online(self.ws, self.feedback_group, request_id)


def _online(ws: Workspace, group: str, request_id: str) -> dict[str, Any] | None:
    found = get_online(ws, group, [request_id])
    return found.get(request_id) or None


def ensure_group(ws: Workspace, name: str, columns: dict[str, str], description: str) -> None:
    """Create feature group `name` keyed by `request_id` with `event_time`, unless it exists."""
    try:
        get_group(ws, name)
        return
    except NotFound:
        pass
    features = [Feature(name=col, type=kind, nullable=col != "request_id")  # type: ignore[arg-type, call-arg]
                for col, kind in columns.items()]
    spec = FeatureGroupSpec(name=name, record_identifier="request_id", event_time="event_time",
                            features=features, description=description,
                            tags={"owner": "mloop app"})
    try:
        create_group(ws, spec)
    except Conflict:  # another app process created it first
        pass
