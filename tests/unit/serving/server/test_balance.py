"""The connection balance between `mloop serve` workers: when a worker hands a connection back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mloop.serving.server import balance


@pytest.mark.parametrize(("mine", "others", "expected"), [
    (5, [3], True), (6, [2], True), (4, [4], False), (4, [3], False), (3, [5], False),
    (3, [1, 3], True), (2, [2, 1], False), (3, [], False),
])
def test_a_worker_hands_back_a_connection_only_when_that_evens_the_split(
        mine: int, others: list[int], expected: bool) -> None:
    assert balance.overloaded(mine, others) is expected


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _peer(path: Path, index: int, pid: int, count: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(index * balance.SLOT.size)
        handle.write(balance.SLOT.pack(pid, count))


def test_slots_count_connections_and_close_toward_a_live_less_loaded_peer(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = balance.create(tmp_path, 2)
    _peer(path, 0, os.getppid(), 1)  # a live peer with one connection holds slot 0
    slots = balance.Slots(path)
    assert slots.index == 1
    for _ in range(3):
        slots.add(1)
    assert slots.count(1) == 3
    assert slots.should_close() is True
    assert slots.should_close() is False  # at most one forced reconnect per MIN_GAP_S
    monkeypatch.setattr(balance.time, "monotonic", lambda: slots._last_close + balance.MIN_GAP_S)
    slots.add(-1)
    assert slots.should_close() is False  # 2 against 1: moving one would not even it


def test_a_dead_peers_stale_count_neither_triggers_closes_nor_keeps_its_slot(tmp_path: Path) -> None:
    path = balance.create(tmp_path, 2)
    dead = _dead_pid()
    _peer(path, 0, dead, 0)
    _peer(path, 1, os.getppid(), 0)
    slots = balance.Slots(path)
    assert slots.index == 0  # uvicorn restarted a worker: the new one takes the dead one's slot
    assert slots.count(0) == 0
    _peer(path, 1, dead, 0)
    for _ in range(5):
        slots.add(1)
    assert slots.should_close() is False
