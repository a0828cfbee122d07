"""Webhook delivery: POST JSON, retry with exponential backoff, record every attempt.

Shared by alerts and the registry's status-change events. Delivery is synchronous and bounded
(attempts x timeout + backoff), so a command that returns has either delivered or recorded why
not; 4xx answers other than 408/429 are not retried (the receiver rejected the payload).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean

if TYPE_CHECKING:
    from mloop.store import Workspace

# The tables (SQLAlchemy) are imported where a query runs: `import mloop.serving` reaches this
# package and stays free of SQLAlchemy.
log = logging.getLogger("mloop.webhook")
_RETRYABLE_4XX = {408, 425, 429}


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of delivering one payload: ok, attempts made, last status or error."""

    ok: bool
    attempts: int
    status_code: int | None
    error: str | None


def deliver(
    ws: Workspace, url: str, payload: dict[str, Any], *, kind: str, subject: str,
    attempts: int | None = None, backoff: float | None = None, timeout: float | None = None,
) -> DeliveryResult:
    """POST `payload` to `url`, retrying with backoff; record each attempt in `webhook_deliveries`.

    Args:
        kind, subject: what the payload is about (`alert`, `alert:12`; `registry`, `model/3`).
        attempts, backoff, timeout: default to `settings.alerts.webhook_*`.

    Returns:
        The outcome; delivery failures are recorded and logged, never raised.
    """
    import httpx

    policy = ws.settings.alerts
    attempts = max(1, attempts or policy.webhook_attempts)
    backoff = policy.webhook_backoff_seconds if backoff is None else backoff
    timeout = timeout or policy.webhook_timeout_seconds
    status: int | None = None
    error: str | None = None
    for attempt in range(1, attempts + 1):
        started = time.perf_counter()
        try:
            response = httpx.post(url, json=payload, timeout=timeout,
                                  headers={"User-Agent": "mloop-webhook", "X-Mloop-Event": kind})
            status, error = response.status_code, None
            ok = 200 <= status < 300
            if not ok:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            status, ok, error = None, False, f"{type(exc).__name__}: {exc}"[:500]
        _record(ws, kind, subject, url, attempt, ok, status, error, time.perf_counter() - started)
        if ok:
            return DeliveryResult(True, attempt, status, None)
        if status is not None and 400 <= status < 500 and status not in _RETRYABLE_4XX:
            break
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    log.warning("webhook delivery of %s %s to %s failed after %d attempt(s): %s",
                kind, subject, url, attempt, error)
    return DeliveryResult(False, attempt, status, error)


def _record(ws: Workspace, kind: str, subject: str, url: str, attempt: int, ok: bool,
            status: int | None, error: str | None, seconds: float) -> None:
    from mloop.alerts.tables import webhook_deliveries

    with ws.db.begin() as conn:
        conn.execute(webhook_deliveries.insert().values(
            at=datetime.now(UTC), kind=kind, subject=subject, url=_redact(url), attempt=attempt,
            ok=ok, status_code=status, error=error, duration_ms=round(seconds * 1000, 2),
        ))


# What sends webhooks: alerts (alerts/core.py) and registry status events (registry/events.py).
DELIVERY_KINDS = ("alert", "registry")


def list_deliveries(
    ws: Workspace, *, kind: str | None = None, subject: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Recorded delivery attempts, newest first.

    Raises:
        InvalidInput: `kind` is not one of DELIVERY_KINDS (a typo must not read as "nothing delivered").
    """
    from sqlalchemy import select

    from mloop.alerts.tables import webhook_deliveries as t

    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if kind:
        if kind.lower() not in DELIVERY_KINDS:
            raise InvalidInput(f"unknown delivery kind '{kind}'", hint=did_you_mean(kind, DELIVERY_KINDS))
        query = query.where(t.c.kind == kind.lower())
    if subject:
        query = query.where(t.c.subject == subject)
    with ws.db.begin() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def _redact(url: str) -> str:
    # Slack-style webhook URLs carry their secret in the path: keep scheme, host and a prefix.
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path if len(parts.path) <= 24 else parts.path[:24] + "…"
    return f"{parts.scheme}://{parts.netloc}{path}"
