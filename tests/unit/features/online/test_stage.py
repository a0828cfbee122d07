"""Ingest's online upsert (staged into SQLite, or row by row into Redis) keeps newest-wins."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from mloop.features import create_group, get_online, ingest, put_records
from tests.unit.features.conftest import HEADER, events_spec, write


@pytest.fixture(params=["sqlite", "redis"])
def ws(request: pytest.FixtureRequest, workspace: Any) -> Any:
    from mloop.store import open_workspace

    overrides = {"online_store_url": str(request.getfixturevalue("redis_url"))} if request.param == "redis" else {}
    ws = open_workspace(workspace.root, **overrides)
    create_group(ws, events_spec("ev"))
    return ws


def test_ingest_online_matches_newest_wins_across_blocks_and_chunks(
    ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mloop.features.ingest_source as src
    import mloop.features.online.runs.files as runs

    monkeypatch.setattr(src, "BLOCK", 4 << 10)  # many validated blocks
    monkeypatch.setattr(runs, "RUN_ROWS", 700)  # several runs per ingest
    rng = random.Random(7)
    rows, newest = [], {}
    for line in range(3000):  # ids repeat, out of order, with equal times (the later row wins)
        uid, sec = rng.randrange(50), rng.randrange(20)
        rows.append(f"{uid},2024-01-01T00:00:{sec:02d}Z,{line}.0,1,red,true\n")
        if uid not in newest or sec >= newest[uid][0]:
            newest[uid] = (sec, float(line))
    put_records(ws, "ev", [{"uid": 0, "x": -1.0, "ts": "2024-02-01T00:00:00Z"}])  # newer than the file
    ingest(ws, write(tmp_path / "a.csv", HEADER + "".join(rows)), "ev")
    got = get_online(ws, "ev", list(range(50)), ["x"])
    assert got == {uid: {"x": -1.0 if uid == 0 else x} for uid, (_, x) in newest.items()}
    assert not list((ws.state_dir / "tmp").glob("*.online.db"))  # the scratch file is gone
