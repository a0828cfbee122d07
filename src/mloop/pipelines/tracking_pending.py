"""Runs that owe MLflow their tracking: one `tracking` outbox entry per run, until replayed.

The tracking hook marks a run here when MLflow stops answering mid-run; run records read the
mark back ("tracking pending"); `tracksync` replays the run and clears it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.store import outbox

if TYPE_CHECKING:
    from mloop.store import Workspace

TOPIC = "tracking"


def mark_pending(ws: Workspace, run_id: str, reason: str) -> None:
    """Record that run `run_id` owes MLflow its tracking (once per run)."""
    if not outbox.pending(ws, TOPIC, run_id):
        outbox.add(ws, TOPIC, run_id, {"reason": reason})


def pending_reason(ws: Workspace, run_id: str) -> str | None:
    """Why the run's tracking is pending, or None when MLflow has all of it."""
    entries = outbox.pending(ws, TOPIC, run_id)
    if not entries:
        return None
    return entries[0].last_error or str(entries[0].payload.get("reason") or "tracking pending")
