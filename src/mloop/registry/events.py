"""Status-change events: in-process subscribers (the deployer) and an optional webhook."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mloop.alerts.webhook import deliver

if TYPE_CHECKING:
    from mloop.registry.records import ModelVersion
    from mloop.store import Workspace

log = logging.getLogger("mloop.registry")
_subscribers: list[Callable[[StatusChange], None]] = []
_lock = threading.Lock()


@dataclass(frozen=True)
class StatusChange:
    """A model version changed status (`from_status` is None when it was just registered)."""

    name: str
    version: int
    from_status: str | None
    to_status: str
    principal: str | None
    comment: str | None
    at: datetime
    model_uri: str
    workspace: str

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["at"] = self.at.isoformat()
        return body


def subscribe(callback: Callable[[StatusChange], None]) -> Callable[[], None]:
    """Call `callback(event)` after every status change in this process; returns an unsubscribe.

    Callbacks run synchronously after the change is committed; one that raises is logged and
    does not affect the change or the other subscribers.
    """
    with _lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def publish(ws: Workspace, event: StatusChange) -> None:
    """Notify subscribers, then POST to `settings.registry.webhook_url` when set."""
    with _lock:
        callbacks = list(_subscribers)
    for callback in callbacks:
        try:
            callback(event)
        except Exception:
            log.exception("registry subscriber %r failed on %s v%s", callback, event.name, event.version)
    url = ws.settings.registry.webhook_url
    if url:
        deliver(ws, url, webhook_payload(event), kind="registry", subject=f"{event.name}/{event.version}")


def status_change(ws: Workspace, v: ModelVersion, from_status: str | None, principal: str | None,
                  comment: str | None, at: datetime) -> StatusChange:
    """The event announcing that `v` now has its status (`from_status` None: just registered)."""
    return StatusChange(v.name, v.version, from_status, v.status, principal, comment, at, v.model_uri,
                        str(ws.root))


def webhook_payload(event: StatusChange) -> dict[str, Any]:
    """JSON body: Slack-compatible `text` plus the structured event."""
    who = f" by {event.principal}" if event.principal else ""
    why = f": {event.comment}" if event.comment else ""
    text = (f"model {event.name} version {event.version}: {event.from_status or 'new'} -> "
            f"{event.to_status}{who}{why}")
    return {"text": text, "event": "model_version.status_changed", **event.to_dict()}
