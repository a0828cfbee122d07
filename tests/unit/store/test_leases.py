"""Leases: a holder (`host:pid`) is gone only when it certainly is; a stale heartbeat ends a lease."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from mloop.store.leases import holder_alive, holder_gone, pid_alive, this_holder

HOST = socket.gethostname()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def test_pid_alive(dead_pid: int) -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid)
    assert pid_alive(1)  # init (a process of another user counts as alive too)


def test_this_holder_is_host_and_pid() -> None:
    assert this_holder() == f"{HOST}:{os.getpid()}"


@pytest.mark.parametrize("holder", [None, "", "no-colon", "other-host.example:1", f"{HOST}:abc"])
def test_a_holder_that_cannot_be_checked_here_is_never_gone(holder: str | None) -> None:
    assert not holder_gone(holder)


def test_a_holder_on_this_host_is_gone_when_its_pid_is(dead_pid: int) -> None:
    assert holder_gone(f"{HOST}:{dead_pid}")
    assert not holder_gone(this_holder())


def test_a_lease_needs_a_holder_a_fresh_heartbeat_and_a_live_pid(dead_pid: int) -> None:
    fresh, stale = datetime.now(UTC), datetime.now(UTC) - timedelta(seconds=31)
    assert holder_alive(this_holder(), fresh, 30.0)
    assert holder_alive("other-host.example:1", fresh, 30.0)  # another host: the heartbeat decides
    assert not holder_alive(this_holder(), stale, 30.0)
    assert not holder_alive(f"{HOST}:{dead_pid}", fresh, 30.0)
    assert not holder_alive(None, fresh, 30.0)
    assert not holder_alive(this_holder(), None, 30.0)
