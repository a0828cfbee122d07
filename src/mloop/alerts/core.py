"""Alert records: write, log, deliver to the webhook (Slack-compatible), list."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.alerts.webhook import deliver
from mloop.auth import acting_principal
from mloop.errors import InvalidInput, did_you_mean

if TYPE_CHECKING:
    from mloop.store import Workspace

# The tables (SQLAlchemy) are imported where a query runs: `import mloop.serving` reaches this
# package and stays free of SQLAlchemy.
log = logging.getLogger("mloop.alerts")
SEVERITIES = ("info", "warning", "error", "critical")
_LOG_LEVEL = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
              "critical": logging.CRITICAL}
_COLOR = {"info": "#439FE0", "warning": "warning", "error": "danger", "critical": "danger"}


@dataclass
class Alert:
    """One alert: what raised it, how bad, what happened, and whether the webhook got it."""

    id: int
    at: datetime
    source: str
    severity: str
    title: str
    detail: dict[str, Any]
    principal: str | None
    delivery: str  # none (no webhook configured) | delivered | failed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def raise_alert(
    ws: Workspace, *, source: str, severity: str, title: str, detail: dict[str, Any] | None = None,
) -> Alert:
    """Record an alert, log it, and POST it to `settings.alerts.webhook_url` when set.

    Args:
        source: what raised it (a pipeline step, a monitor): `ad-click-ctr/alert`.
        severity: one of info, warning, error, critical.
        title: one line for people.
        detail: structured facts (metric, threshold, run id...); must be JSON-serializable.

    Returns:
        The stored alert, with `delivery` = none | delivered | failed (attempts are in
        `webhook_deliveries`; a failed delivery never raises).

    Raises:
        InvalidInput: unknown severity, empty title or non-JSON detail.
    """
    from mloop.alerts.tables import alerts

    severity = _check(severity, title, detail)
    url = ws.settings.alerts.webhook_url
    values: dict[str, Any] = {"at": datetime.now(UTC), "source": source, "severity": severity, "title": title,
              "detail": detail or {}, "principal": acting_principal(ws),
              "delivery": "pending" if url else "none"}
    with ws.db.begin() as conn:
        key = conn.execute(alerts.insert().values(**values)).inserted_primary_key
        alert_id = int(key[0]) if key else 0
    alert = Alert(id=alert_id, **values)
    log.log(_LOG_LEVEL[severity], "alert #%d [%s] %s: %s %s", alert_id, severity, source, title,
            detail or "")
    if url:
        result = deliver(ws, url, slack_payload(alert, ws), kind="alert", subject=f"alert:{alert_id}")
        alert.delivery = "delivered" if result.ok else "failed"
        with ws.db.begin() as conn:
            conn.execute(alerts.update().where(alerts.c.id == alert_id).values(delivery=alert.delivery))
    return alert


def _check(severity: str, title: str, detail: dict[str, Any] | None) -> str:
    import json

    severity = (severity or "").lower()
    if severity not in SEVERITIES:
        raise InvalidInput(f"unknown alert severity '{severity}'", hint=did_you_mean(severity, SEVERITIES))
    if not title or not title.strip():
        raise InvalidInput("an alert needs a title", hint="Say in one line what happened.")
    try:
        json.dumps(detail or {})
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"alert detail must be JSON-serializable: {exc}",
                           hint="Pass numbers, strings, lists and dicts only.") from exc
    return severity


def slack_payload(alert: Alert, ws: Workspace | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook body (`text` + attachment fields) that also carries the record."""
    fields = [{"title": "source", "value": alert.source, "short": True},
              {"title": "severity", "value": alert.severity, "short": True}]
    fields += [{"title": str(k), "value": str(v), "short": len(str(v)) < 40}
               for k, v in alert.detail.items()]
    return {
        "text": f"[{alert.severity.upper()}] {alert.source}: {alert.title}",
        "attachments": [{"color": _COLOR[alert.severity], "fields": fields,
                         "ts": int(alert.at.timestamp())}],
        "mloop": {"kind": "alert", "id": alert.id, "at": alert.at.isoformat(), "source": alert.source,
                  "severity": alert.severity, "title": alert.title, "detail": alert.detail,
                  "workspace": str(ws.root) if ws else None},
    }


def list_alerts(
    ws: Workspace, *, source: str | None = None, severity: str | None = None, limit: int = 100,
) -> list[Alert]:
    """Alerts, newest first, optionally filtered by source and severity."""
    from sqlalchemy import select

    from mloop.alerts.tables import alerts

    query = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if source:
        query = query.where(alerts.c.source == source)
    if severity:
        if severity.lower() not in SEVERITIES:
            raise InvalidInput(f"unknown alert severity '{severity}'", hint=did_you_mean(severity, SEVERITIES))
        query = query.where(alerts.c.severity == severity.lower())
    with ws.db.begin() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    return [Alert(**row) for row in rows]
