"""Leases held by processes: who holds one (`host:pid`), whether that process is gone, and whether
its heartbeat is fresh.

A pipeline run, a release, a spool or a staging file records the process that owns it. Another
process takes it over only when the owner is certainly gone: on this host, its pid no longer
runs; on another host (where a pid means nothing here), its heartbeat went stale.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime


def pid_alive(pid: int) -> bool:
    """Whether process `pid` on this host exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def this_holder() -> str:
    """`host:pid` of this process, recorded on what it holds."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str | None) -> bool:
    """Whether the process `holder` (`host:pid`) is certainly dead: on this host, its pid not alive.

    A holder on another host, or a value that is not `host:pid`, is never called gone (a pid
    that was reused by a live process reads as alive: the lease then waits for its heartbeat).
    """
    if not holder or ":" not in holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not pid_alive(int(pid))


def holder_alive(holder: str | None, heartbeat_at: datetime | None, stale_after: float) -> bool:
    """Whether a lease is still held: it has a holder whose heartbeat is at most `stale_after`
    seconds old and who, on this host, still runs."""
    if not holder or heartbeat_at is None:
        return False
    if (datetime.now(UTC) - heartbeat_at).total_seconds() > stale_after:
        return False
    return not holder_gone(holder)
