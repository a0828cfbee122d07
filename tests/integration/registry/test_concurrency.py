"""Two processes approving different versions at the same time leave a consistent history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mloop import registry
from mloop.tracking import mlflow_registry
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("approver_proc.py")


def test_concurrent_approvers_in_separate_processes(
    ml_workspace: Any, database_url: str, tmp_path: Path
) -> None:
    from mloop.store import open_workspace

    ws = open_workspace(ml_workspace.root, database_url=database_url)
    name = "ctr"
    for _ in range(9):
        registry.register(ws, name, "s3://bucket/m")
    go = tmp_path / "go"
    env = {**os.environ, "MLOOP_DATABASE_URL": database_url,
           "PYTHONPATH": str(Path(__file__).parents[3] / "src")}
    procs = [
        subprocess.Popen([sys.executable, str(SCRIPT), str(ws.root), who, str(go), versions, "9"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for who, versions in (("alice", "1,3,5,7"), ("bob", "2,4,6,8"))
    ]
    # both processes import and open their stores first, then wait at the start line
    wait_until(lambda: all((tmp_path / f"ready-{who}").exists() for who in ("alice", "bob"))
               or any(p.poll() is not None for p in procs), timeout=120, what="approver processes")
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(outputs[0]["done"] + outputs[1]["done"]) == list(range(1, 9))
    assert sorted(o["contested"] for o in outputs) == ["approval_conflict", "ok"]
    _check_consistent(ws, name)
    if database_url.startswith("sqlite"):  # one writer at a time: times follow the trail's order
        times = [t.at for t in registry.history(ws, name)]
        assert times == sorted(times)


def _check_consistent(ws: Any, name: str) -> None:
    versions = {v.version: v for v in registry.versions(ws, name)}
    assert all(versions[n].status == registry.APPROVED for n in range(1, 9))
    assert versions[9].status == registry.REJECTED
    assert {versions[n].approved_by for n in (1, 3, 5, 7)} == {"alice"}
    assert {versions[n].approved_by for n in (2, 4, 6, 8)} == {"bob"}
    trail = registry.history(ws, name)
    assert len(trail) == 9 + 8 + 1
    assert len({t.id for t in trail}) == len(trail)
    # every version has exactly one registration and one decision, in that order
    per_version = Counter((t.version, t.from_status, t.to_status) for t in trail)
    assert all(count == 1 for count in per_version.values())
    for n in range(1, 10):
        steps = [t for t in trail if t.version == n]
        assert [s.from_status for s in steps] == [None, registry.PENDING]
    for n, version in versions.items():  # the MLflow mirror agrees with the audit trail
        assert mlflow_registry.get_version(ws, name, n)["tags"][registry.STATUS_TAG] == version.status
    assert registry.latest_approved(ws, name).version == 8
