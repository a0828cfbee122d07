"""Two processes opening a fresh workspace's MLflow store at once (two first pipeline runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from mloop import tracking
from mloop.store import open_workspace
with tracking.start_run(open_workspace(sys.argv[1]), experiment="race", run_name=sys.argv[2]) as run:
    print(run.run_id)
"""


def test_two_processes_creating_the_sqlite_store_at_once_both_succeed(workspace_dir: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(workspace_dir), name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in "ab"]
    outcomes = [proc.communicate(timeout=180) for proc in procs]
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert len(out.strip()) == 32  # an MLflow run id
