"""Bulk ingests reach the SQLite online store as sorted runs: reads still see the newest record."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from mloop.features import create_group, delete_group, get_online, ingest, put_records
from tests.unit.features.conftest import HEADER, events_spec, write


def _runs(ws: Any, group: str) -> list[Path]:
    return sorted((ws.state_dir / "online-runs" / group).glob("*.arrow"))  # one per run


@pytest.mark.parametrize("id_type", ["int", "string"])
def test_reads_take_the_newest_over_runs_and_single_writes(
    workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, id_type: str,
) -> None:
    import mloop.features.ingest_source as src
    import mloop.features.online.runs.files as runs
    import mloop.features.online.sqlite as osq

    monkeypatch.setattr(src, "BLOCK", 2 << 10)  # many blocks per file
    monkeypatch.setattr(runs, "RUN_ROWS", 300)  # several runs per ingest
    monkeypatch.setattr(osq, "MAX_DEPTH", 4)  # and merged now and then
    create_group(workspace, events_spec("ev", id_type))
    rng = random.Random(11)
    ids = [str(i) for i in range(40)] if id_type == "int" else [f"user-{i}" for i in range(39)] + ["é"]
    newest: dict[str, tuple[int, float, str]] = {}  # id -> (second, x, written by)
    value = 0.0

    def note(uid: str, sec: int, x: float, by: str) -> None:
        """Newest time wins; a tie goes to the later ingest, or to the later put over a put."""
        old = newest.get(uid)
        if old is None or sec > old[0] or (sec == old[0] and (by == "ingest" or old[2] == "put")):
            newest[uid] = (sec, x, by)

    for round_ in range(5):
        lines = []
        for _ in range(700):
            uid, sec, value = rng.choice(ids), rng.randrange(60), value + 1
            lines.append((uid, sec, value))
        if round_ % 2 == 0:  # in (id, time) order: streamed runs; else as drawn: sorted runs
            lines.sort(key=lambda r: (r[0].encode() if id_type == "string" else int(r[0]), r[1]))
        for uid, sec, x in lines:
            note(uid, sec, x, "ingest")
        body = "".join(f"{u},2024-01-01T00:{s // 60:02d}:{s % 60:02d}Z,{x},1,red,true\n" for u, s, x in lines)
        ingest(workspace, write(tmp_path / f"r{round_}.csv", HEADER + body), "ev")
        if round_ == 0:
            assert len(_runs(workspace, "ev")) == 3  # 700 rows, runs of 300
        uid, value = rng.choice(ids), value + 1  # and a single-record write between ingests
        put_records(workspace, "ev", [{"uid": uid if id_type == "string" else int(uid), "x": value,
                                       "ts": f"2024-01-01T00:00:{(sec := rng.randrange(60)):02d}Z"}])
        note(uid, sec, value, "put")
        keys = [int(i) for i in ids] if id_type == "int" else ids
        got = get_online(workspace, "ev", keys, ["x"])
        assert got == {k: {"x": newest[i][1]} for k, i in zip(keys, ids, strict=True) if i in newest}
        assert get_online(workspace, "ev", keys[:1], ["x"]) == {keys[0]: {"x": newest[ids[0]][1]}}
    assert 0 < len(_runs(workspace, "ev")) <= 4  # runs were merged


def test_missing_and_malformed_ids_are_absent(ev: Any, tmp_path: Path) -> None:
    ingest(ev, write(tmp_path / "a.csv", HEADER + "5,2024-01-01T00:00:00Z,1.0,1,red,true\n"), "ev")
    assert get_online(ev, "ev", [5, 6, "05", " 5", "x", 2**70], ["x"]) == {5: {"x": 1.0}}


def test_timestamps_and_nulls_read_back_as_from_single_writes(ev: Any, tmp_path: Path) -> None:
    ingest(ev, write(tmp_path / "a.csv", HEADER + "1,2024-01-01T00:00:00.5Z,,,,\n"), "ev")
    put_records(ev, "ev", [{"uid": 2, "ts": "2024-01-01T00:00:00.5Z"}])
    got = get_online(ev, "ev", [1, 2])
    assert got[1] == {**got[2], "uid": 1}
    assert got[1]["ts"] == "2024-01-01T00:00:00.500000+00:00"


def test_deleting_the_group_removes_its_runs(ev: Any, tmp_path: Path) -> None:
    ingest(ev, write(tmp_path / "a.csv", HEADER + "1,2024-01-01T00:00:00Z,1.0,1,red,true\n"), "ev")
    assert _runs(ev, "ev")
    delete_group(ev, "ev")
    assert not _runs(ev, "ev")
    create_group(ev, events_spec())
    assert get_online(ev, "ev", [1]) == {}


def test_a_merge_that_races_a_publish_gives_way(ev: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mloop.features.online.sqlite as osq
    from mloop.features.online import online_store

    for k in range(3):
        ingest(ev, write(tmp_path / f"{k}.csv", HEADER + f"1,2024-01-0{k + 1}T00:00:00Z,{k}.0,1,red,true\n"), "ev")
    store: Any = online_store(ev)
    runs = store._runs(store._conn(), "ev")
    real_merge = osq.merge

    def merge_while_another_publishes(*args: Any) -> Any:
        merged = real_merge(*args)
        ingest(ev, write(tmp_path / "late.csv", HEADER + "1,2024-01-09T00:00:00Z,9.0,1,red,true\n"), "ev")
        return merged

    monkeypatch.setattr(osq, "merge", merge_while_another_publishes)
    store._merge("ev", runs)  # finds the run list changed: keeps it, drops its own output
    assert len(_runs(ev, "ev")) == 4
    assert get_online(ev, "ev", [1], ["x"]) == {1: {"x": 9.0}}
