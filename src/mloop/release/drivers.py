"""Who drives a release, and whether that driver still runs.

A release is driven by one process at a time (its `driver`, `host:pid`, with a heartbeat). Both
the release records (claiming, resuming) and the per-endpoint deploy lock (is its holder still
alive?) ask the same question here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mloop.pipelines.runs import driver_gone
from mloop.pipelines.runs import this_driver as this_driver  # one notion of a driver (host:pid)
from mloop.store.timestamps import as_utc

TERMINAL = frozenset({"Succeeded", "Failed", "Rejected"})
# A driver that has not beaten for this long is presumed dead (other hosts; same host: pid check).
STALE_AFTER_S = 30.0


def now() -> datetime:
    return datetime.now(UTC)


def driver_alive(driver: str | None, heartbeat_at: datetime | None) -> bool:
    """Whether a release's driver still runs: a fresh heartbeat and, on this host, a live pid."""
    if not driver or heartbeat_at is None:
        return False
    if (now() - (as_utc(heartbeat_at) or now())).total_seconds() > STALE_AFTER_S:
        return False
    return not driver_gone(driver)  # on this host, the pid must still run
