"""The inference app's logic, apart from HTTP: score, log, take feedback.

Order matters for "nothing half-logged": the endpoint answers first; only a complete answer is
logged; the response goes out only after the log write is durable. Feedback is checked against
the logged interaction (404 when unknown) and the feedback group (409 when already given)
under a file lock, so a double click never writes two labels, even across app processes
sharing the workspace on one host.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import Conflict, InvalidInput, NotFound
from mloop.store.timestamps import as_utc
from mloop.web.inference.logbook import GroupCommitWriter
from mloop.web.inference.schemas import AdClickRecord, Feedback, FeedbackResponse, Prediction

if TYPE_CHECKING:
    from mloop.config import AppSettings
    from mloop.web.inference.endpoint import EndpointClient
    from mloop.web.inference.store import InteractionStore


class InferenceService:
    """Scores records through the endpoint and logs interactions and feedback."""

    def __init__(self, settings: AppSettings, client: EndpointClient,
                 store: InteractionStore | None, *, endpoint_label: str | None = None) -> None:
        self.settings = settings
        self.client = client
        self.endpoint_label = endpoint_label or client.url  # the endpoint name when started by name
        self.store = store
        self._interactions: GroupCommitWriter | None = None
        self._feedback_lock = asyncio.Lock()

    @property
    def logging(self) -> bool:
        return self.store is not None

    async def start(self) -> None:
        if self.store is None:
            return
        await asyncio.to_thread(self.store.ensure_groups)
        self._interactions = GroupCommitWriter(self.store.write_interactions, name=self.store.interactions_group)
        self._interactions.start()

    async def close(self) -> None:
        if self._interactions is not None:
            await self._interactions.close()
        await self.client.aclose()

    async def predict(self, records: list[AdClickRecord]) -> list[Prediction]:
        """Score `records` (one request id each); return once their interactions are durable."""
        if len(records) > self.settings.max_records:
            raise InvalidInput(f"{len(records)} records in one call; at most {self.settings.max_records}",
                               hint="Split the batch, or raise app.max_records.")
        raw = [record.model_dump() for record in records]
        at = datetime.now(UTC)
        ids = [uuid.uuid4().hex for _ in records]
        answer = await self.client.predict(raw, inference_id=ids[0])  # the call's id in the server's log
        latency = round(answer.latency_ms, 3)
        if self._interactions is not None:
            rows = [
                {"request_id": rid, "event_time": at, **features, "prediction": prob,
                 "model_name": answer.model, "model_version": answer.model_version,
                 "variant": answer.variant, "latency_ms": latency, "endpoint": self.endpoint_label,
                 **self._issues_column(issues)}
                for rid, features, prob, issues in zip(ids, raw, answer.probabilities, answer.input_issues,
                                                       strict=True)
            ]
            await self._interactions.put(rows)
        return [
            Prediction(request_id=rid, probability=prob, model=answer.model,
                       model_version=answer.model_version, variant=answer.variant,
                       latency_ms=latency, logged=self.logging, input_issues=issues)
            for rid, prob, issues in zip(ids, answer.probabilities, answer.input_issues, strict=True)
        ]

    def _issues_column(self, issues: list[str]) -> dict[str, Any]:
        """The interaction's `input_issues` (a group created before the column existed has none)."""
        if self.store is None or not self.store.logs_input_issues:
            return {}
        return {"input_issues": ", ".join(issues) if issues else None}

    async def feedback(self, feedback: Feedback) -> FeedbackResponse:
        """Record what the user did; 404 for an unknown request, 409 when already recorded."""
        if self.store is None:
            raise InvalidInput("feedback is off: this app runs with interaction logging disabled",
                               hint="Restart it without MLOOP_APP__LOG_INTERACTIONS=false.")
        async with self._feedback_lock:  # feedback is rare: one at a time, check and write together
            interaction, at = await asyncio.to_thread(self._record_feedback, feedback)
        return FeedbackResponse(request_id=feedback.request_id, clicked=feedback.clicked, logged=True,
                                seconds_after_prediction=_seconds_since(interaction, at))

    def _record_feedback(self, feedback: Feedback) -> tuple[dict[str, Any], datetime]:
        """Check and write under a file lock, so app processes sharing a workspace never both write."""
        assert self.store is not None
        rid = feedback.request_id
        with self.store.feedback_lock():
            interaction = self.store.get_interaction(rid)
            if interaction is None:
                raise NotFound(f"no prediction with request id '{rid}'",
                               hint="Send the request_id that /api/predict returned.")
            previous = self.store.get_feedback(rid)
            if previous is not None:
                raise Conflict(
                    f"feedback for request '{rid}' was already recorded "
                    f"(clicked={bool(previous.get('clicked'))}); it is recorded once",
                    hint="Nothing was changed.",
                )
            at = datetime.now(UTC)
            self.store.write_feedback([{"request_id": rid, "event_time": at, "clicked": int(feedback.clicked),
                                        "model_version": interaction.get("model_version"),
                                        "variant": interaction.get("variant")}])
        return interaction, at


def _seconds_since(interaction: dict[str, Any], at: datetime) -> float | None:
    when = interaction.get("event_time")
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if not isinstance(when, datetime):
        return None
    return round((at - as_utc(when)).total_seconds(), 3)
