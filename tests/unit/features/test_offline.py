"""Offline store: snapshots, as-of, history, columns, where; training sets; a property test."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidInput
from mloop.features import build_training_set, create_group, extract, ingest
from tests.support.feature_files import HEADER, events_spec, write

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _ingest_frame(ws: Any, group: str, frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path)
    ingest(ws, path, group)


def test_snapshot_as_of_history(ev: Any, tmp_path: Path) -> None:
    write(tmp_path / "1.csv", HEADER + "1,2024-01-01,1.0,1,red,true\n1,2024-01-03,3.0,3,red,true\n"
          "2,2024-01-02,2.0,2,blue,false\n")
    write(tmp_path / "2.csv", HEADER + "1,2024-01-02,9.0,9,green,true\n")  # older event, later file
    ingest(ev, tmp_path / "1.csv", "ev")
    ingest(ev, tmp_path / "2.csv", "ev")
    snap = extract(ev, "ev")
    assert snap.set_index("uid")["x"].to_dict() == {1: 3.0, 2: 2.0}
    past = extract(ev, "ev", as_of="2024-01-02T12:00:00Z")
    assert past.set_index("uid")["x"].to_dict() == {1: 9.0, 2: 2.0}
    assert len(extract(ev, "ev", history=True)) == 4
    narrow = extract(ev, "ev", columns=["x"], where="x > 2.5")
    assert list(narrow.columns) == ["uid", "ts", "x"] and list(narrow["uid"]) == [1]
    with pytest.raises(InvalidInput, match="no feature 'colour'") as info:
        extract(ev, "ev", columns=["colour"])
    assert "did you mean 'color'" in (info.value.hint or "")
    with pytest.raises(InvalidInput):
        extract(ev, "ev", where="nonsense >")


def test_same_event_time_later_write_wins(ev: Any, tmp_path: Path) -> None:
    write(tmp_path / "1.csv", HEADER + "1,2024-01-01,1.0,1,red,true\n1,2024-01-01,2.0,1,red,true\n")
    write(tmp_path / "2.csv", HEADER + "1,2024-01-01,3.0,1,red,true\n1,2024-01-01,4.0,1,red,true\n")
    ingest(ev, tmp_path / "1.csv", "ev")
    assert extract(ev, "ev")["x"].tolist() == [2.0]
    ingest(ev, tmp_path / "2.csv", "ev")
    assert extract(ev, "ev")["x"].tolist() == [4.0]


def test_training_set_point_in_time(ev: Any, tmp_path: Path) -> None:
    write(tmp_path / "1.csv", HEADER + "1,2024-01-01,1.0,1,red,true\n1,2024-01-03,3.0,3,red,true\n")
    ingest(ev, tmp_path / "1.csv", "ev")
    entities = pd.DataFrame({
        "uid": [1, 1, 1, 1, 2],
        "ts": pd.to_datetime(["2023-12-31", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-05"]),
        "label": [0, 1, 1, 0, 1],
    })
    out = build_training_set(ev, entities, ["ev:x", "ev:color"])
    assert len(out) == 5 and list(out["label"]) == [0, 1, 1, 0, 1]
    assert out["x"].tolist()[1:4] == [1.0, 1.0, 3.0]
    assert pd.isna(out["x"].iloc[0]) and pd.isna(out["x"].iloc[4])
    with pytest.raises(InvalidInput, match="time column"):
        build_training_set(ev, entities.rename(columns={"ts": "when"}), ["ev"])


def _brute(events: list[tuple[int, int, int, int, float]], entities: list[tuple[int, int]]) -> list[float | None]:
    """events: (uid, t, file, row, x); the newest by (t, file, row) at or before the entity time."""
    out: list[float | None] = []
    for uid, t in entities:
        best = max((e for e in events if e[0] == uid and e[1] <= t), key=lambda e: e[1:4], default=None)
        out.append(None if best is None else best[4])
    return out


_counter = itertools.count()
event = st.tuples(st.integers(0, 3), st.integers(0, 6), st.floats(-100, 100, allow_nan=False))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=3),
       entities=st.lists(st.tuples(st.integers(0, 4), st.integers(-1, 7)), min_size=1, max_size=12))
def test_training_set_matches_brute_force(workspace: Any, tmp_path: Path, files: Any, entities: Any) -> None:
    name = f"p{next(_counter)}"
    create_group(workspace, events_spec(name))
    flat = []
    for f, rows in enumerate(files):
        frame = pd.DataFrame({
            "uid": [r[0] for r in rows], "ts": [T0 + pd.Timedelta(hours=r[1]) for r in rows],
            "x": [r[2] for r in rows], "n": [f] * len(rows), "color": ["red"] * len(rows),
            "ok": [True] * len(rows)})
        _ingest_frame(workspace, name, frame, tmp_path / f"{name}-{f}.parquet")
        flat += [(r[0], r[1], f, i, r[2]) for i, r in enumerate(rows)]
    ent = pd.DataFrame({"uid": [e[0] for e in entities],
                        "ts": [T0 + pd.Timedelta(hours=e[1]) for e in entities]})
    out = build_training_set(workspace, ent, [f"{name}:x"])
    assert len(out) == len(entities)
    assert list(out["uid"]) == [e[0] for e in entities]
    got = [None if pd.isna(v) else float(v) for v in out["x"]]
    assert got == _brute(flat, [(e[0], e[1]) for e in entities])
