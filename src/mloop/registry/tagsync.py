"""The MLflow mirror of approval decisions, delivered through the outbox.

A decision commits mloop's records and an outbox entry together (`queue_tag`); `drain_tags`
then sets MLflow's `mloop.approval_status` version tag. It runs right after the decision in
processes that already use MLflow (the API server, pipeline steps, `register`), and, for the
one-second CLI, in a background process the command starts (`spawn_drain`); any later
registration or run drains what is left. `mloop models show` reports a tag still pending.
Delivery writes the version's *current* status (not the queued value) under a lock, so two
drainers never leave MLflow showing an older decision.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from mloop.errors import NotFound
from mloop.registry.lookup import get_version
from mloop.store import outbox
from mloop.store.locks import file_lock
from mloop.tracking import mlflow_registry

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace
    from mloop.store.outbox import Entry

TOPIC = "mlflow-version-tag"
BACKGROUND_BUDGET_S = 120.0
# MLflow's defaults retry an unreachable server for minutes per call; the background drainer asks
# for one retry and a 10 s timeout (a user's own MLFLOW_HTTP_* settings still win).
BACKGROUND_MLFLOW_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
log = logging.getLogger("mloop.registry")


def queue_tag(ws: Workspace, conn: Connection, name: str, version: int, key: str, value: str) -> None:
    """Record, in the caller's transaction, that MLflow's tag `key` must show `value`."""
    outbox.add(ws, TOPIC, f"{name}/{version}", {"name": name, "version": version, "key": key,
                                                 "value": value}, conn=conn)


def pending_tags(ws: Workspace, name: str | None = None) -> dict[str, str]:
    """`{"name/version": status}` of decisions MLflow does not show yet (newest per version)."""
    out: dict[str, str] = {}
    for entry in outbox.pending(ws, TOPIC):
        if name is None or entry.payload.get("name") == name:
            out[entry.subject] = str(entry.payload.get("value"))
    return out


def drain_tags(ws: Workspace, budget_s: float | None = None) -> int:
    """Deliver every pending tag; failures (MLflow down) stay pending with their error.

    With `budget_s`, give up after that many seconds (waiting for another drainer's lock
    included): a background drainer must end even when MLflow hangs; what is left stays pending.
    """
    if not outbox.pending(ws, TOPIC):
        return 0
    deadline = None if budget_s is None else time.monotonic() + budget_s
    try:
        with file_lock(ws.state_dir / "outbox-tags.lock", timeout=budget_s):
            done, errors = outbox.drain(ws, TOPIC, lambda entry: _deliver(ws, entry), deadline=deadline)
    except TimeoutError:
        log.warning("another tag drainer held the outbox for %s s; the tags stay pending", budget_s)
        return 0
    for error in errors:
        log.warning("MLflow tag still pending for %s", error)
    return done


def _deliver(ws: Workspace, entry: Entry) -> None:
    name, version, key = entry.payload["name"], int(entry.payload["version"]), entry.payload["key"]
    try:
        current = get_version(ws, name, version).status  # the newest decision wins, whatever the order
    except NotFound:
        return  # the version was deleted since: nothing left to mirror
    mlflow_registry.set_version_tag(ws, name, version, key, current)


def spawn_drain(ws: Workspace) -> int | None:
    """Deliver pending tags from a detached background process (the CLI returns at once).

    The process ends when the outbox is empty, or after `BACKGROUND_BUDGET_S` however MLflow
    answers (its HTTP client retries a dead server for minutes unless told otherwise): a
    helper never outlives its work by much. Returns its pid (None when it could not start).
    """
    env = {**BACKGROUND_MLFLOW_ENV, **os.environ, "MLOOP_WORKSPACE": str(ws.root)}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mloop", "models", "sync-tags", "--quiet",
             "--max-seconds", f"{BACKGROUND_BUDGET_S:g}"],
            env=env, cwd=str(ws.root), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:  # the next registration or run drains it instead
        log.debug("cannot start the tag drainer: %s", exc)
        return None
    return proc.pid
