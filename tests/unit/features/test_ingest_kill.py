"""A kill -9 in the middle of an ingest leaves the group as it was; a retry adds each row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mloop.features import data_version, extract, get_online, ingest

ROOT = Path(__file__).resolve().parents[3]
ROWS = 60_000

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from mloop.features import ingest
    from mloop.store import open_workspace
    import mloop.features.ingest_source as src
    import mloop.features.online.sqlite as online
    ws = open_workspace(sys.argv[1])
    where = sys.argv[3]
    src.BLOCK = 256 << 10  # several blocks, so a kill lands mid-file
    if where == "online":  # die after the commit, its sorted runs written but not yet registered
        def dying(self, group, files):
            os.kill(os.getpid(), signal.SIGKILL)
        online.SqliteOnlineStore.add_runs = dying
    def progress(rows, done):
        print(rows, flush=True)
        if where == "staging":
            signal.pause()  # the test kills us here, mid-file
    ingest(ws, sys.argv[2], "ev", progress=progress)
""")


def _csv(path: Path) -> Path:
    with open(path, "w") as fh:
        fh.write("uid,ts,x,n,color,ok\n")
        for i in range(ROWS):
            fh.write(f"{i},2024-01-01T00:00:{i % 60:02d}Z,{i * 0.5},{i % 1000},red,true\n")
    return path


def _run(ws: Any, csv: Path, where: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(ws.root), str(csv), where],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout is not None
    if where == "staging":
        assert 0 < int(proc.stdout.readline()) < ROWS  # the first block of several
        proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


@pytest.mark.slow
def test_kill_during_staging_leaves_group_untouched(ev: Any, tmp_path: Path) -> None:
    csv = _csv(tmp_path / "d.csv")
    _run(ev, csv, "staging")
    assert data_version(ev, "ev") == 0 and extract(ev, "ev").empty
    assert get_online(ev, "ev", [0]) == {}
    report = ingest(ev, csv, "ev")
    assert report.ingested == ROWS and data_version(ev, "ev") == 1
    assert len(extract(ev, "ev", history=True)) == ROWS


@pytest.mark.slow
def test_kill_during_online_publish_is_repaired(ev: Any, tmp_path: Path) -> None:
    csv = _csv(tmp_path / "d.csv")
    _run(ev, csv, "online")
    assert data_version(ev, "ev") == 1  # committed before the kill: visible offline, whole
    assert len(extract(ev, "ev", history=True)) == ROWS
    orphans = list(ev.state_dir.glob("online-runs/ev/*.arrow"))
    assert orphans  # its runs were written but never registered
    # the next read of the group publishes the committed ingestion: no row is missed online
    assert get_online(ev, "ev", [ROWS - 1], ["x"]) == {ROWS - 1: {"x": (ROWS - 1) * 0.5}}
    assert get_online(ev, "ev", [0], ["x"]) == {0: {"x": 0.0}}
    again = ingest(ev, csv, "ev")  # same content: skipped, nothing left to repair
    assert again.skipped and data_version(ev, "ev") == 1
    assert get_online(ev, "ev", [ROWS - 1], ["x"]) == {ROWS - 1: {"x": (ROWS - 1) * 0.5}}
    left = list(ev.state_dir.glob("online-runs/ev/*.arrow"))
    assert left and not set(orphans) & set(left)  # the killed writer's files were swept
