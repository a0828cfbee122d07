"""Online store contract: SQLite and the Redis server behave the same, newest event wins."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop.features.online import open_online_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(online_store_url: str) -> Iterator[Any]:
    s = open_online_store(online_store_url)
    yield s
    s.close()


def test_put_get_and_missing(store: Any) -> None:
    store.put("g", [("1", 10, '{"v":1}'), ("2", 10, '{"v":2}')])
    # One type from every backend: the decoded record (never JSON text from one, a dict from another)
    assert store.get("g", ["1", "2", "3"]) == {"1": {"v": 1}, "2": {"v": 2}}
    assert store.get("g", ["1"]) == {"1": {"v": 1}}
    assert store.get("other", ["1"]) == {}
    assert store.get("g", [str(i) for i in range(1200)]).keys() == {"1", "2"}  # beyond one chunk


def test_newest_event_wins_out_of_order(store: Any) -> None:
    store.put("g", [("a", 20, '{"v": "new"}')])
    store.put("g", [("a", 10, '{"v": "old"}')])
    assert store.get("g", ["a"]) == {"a": {"v": "new"}}
    store.put("g", [("a", 20, '{"v": "same-time-later-write"}'), ("b", -5, '{"v": "pre-1970"}')])
    assert store.get("g", ["a", "b"]) == {"a": {"v": "same-time-later-write"}, "b": {"v": "pre-1970"}}
    store.put("g", [("b", -10, '{"v": "older"}')])
    assert store.get("g", ["b"]) == {"b": {"v": "pre-1970"}}


def test_delete_group(store: Any) -> None:
    store.put("g", [("1", 1, '{"v": 1}')])
    store.put("h", [("1", 1, '{"v": 1}')])
    store.delete_group("g")
    assert store.get("g", ["1"]) == {} and store.get("h", ["1"]) == {"1": {"v": 1}}


WRITER = textwrap.dedent("""
    import random, sys
    from mloop.features.online import open_online_store
    store = open_online_store(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    stamps = list(range(200))
    rng.shuffle(stamps)
    for ts in stamps:
        store.put("g", [(str(k), ts, '{"ts": %d}' % ts) for k in range(5)])
""")


def test_concurrent_processes_keep_the_newest(online_store_url: str) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, online_store_url, str(seed)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")}) for seed in range(4)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    store = open_online_store(online_store_url)
    assert store.get("g", [str(k) for k in range(5)]) == {str(k): {"ts": 199} for k in range(5)}
    store.close()


def test_get_online_through_the_workspace(workspace: Any, online_store_url: str, tmp_path: Path) -> None:
    from mloop.features import create_group, get_online, ingest, put_records
    from mloop.store import open_workspace
    from tests.support.feature_files import HEADER, events_spec, write

    ws = open_workspace(workspace.root, online_store_url=online_store_url)
    create_group(ws, events_spec("ev"))
    ingest(ws, write(tmp_path / "a.csv", HEADER + "1,2024-01-02,1.0,1,red,true\n"), "ev")
    put_records(ws, "ev", [{"uid": 1, "x": 0.0, "ts": "2024-01-01T00:00:00Z"}])  # older: ignored
    put_records(ws, "ev", [{"uid": 2, "x": 2.0, "ts": "2024-01-03T00:00:00Z"}])
    got = get_online(ws, "ev", [1, 2, random.randint(10, 99)], ["x", "ts"])
    assert got == {1: {"x": 1.0, "ts": "2024-01-02T00:00:00.000000+00:00"},
                   2: {"x": 2.0, "ts": "2024-01-03T00:00:00.000000+00:00"}}
