"""Who drives a release, and whether that driver still runs.

A release is driven by one process at a time (its `driver`, `host:pid`, with a heartbeat). Both
the release records (claiming, resuming) and the per-endpoint deploy lock (is its holder still
alive?) ask the same question here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mloop.store.leases import holder_alive, this_holder

TERMINAL = frozenset({"Succeeded", "Failed", "Rejected"})
# A driver that has not beaten for this long is presumed dead (other hosts; same host: pid check).
STALE_AFTER_S = 30.0
# A release's driver (host:pid) holds the release as a lease.
this_driver = this_holder


def now() -> datetime:
    return datetime.now(UTC)


def driver_alive(driver: str | None, heartbeat_at: datetime | None) -> bool:
    """Whether a release's driver still runs: a fresh heartbeat and, on this host, a live pid."""
    return holder_alive(driver, heartbeat_at, STALE_AFTER_S)
