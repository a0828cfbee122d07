"""`mloop experiments` as a user runs it: a real subprocess over a workspace with an experiment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mloop import experiments, serving
from mloop.store import open_workspace
from tests.support.cli import clean_env
from tests.support.experiments import ENDPOINT, app_groups, make_endpoint, traffic


def _mloop(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env() | {"MLOOP_PRINCIPAL": "tester"}
    return subprocess.run([sys.executable, "-m", "mloop", "experiments", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_watch_once_decides_and_show_explains_it(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    try:
        make_endpoint(ws)
        store = app_groups(ws)
        exp = experiments.start(ws, ENDPOINT, ["production", "canary"], auto_promote=True)
        traffic(store, {"production": 0.05, "canary": 0.15}, 3000, seed=9)
    finally:
        ws.close()
    listed = json.loads(_mloop(workspace_dir, "list", "--json").stdout)
    assert [(e["id"], e["decision"]) for e in listed] == [(exp.id, "running")]  # list takes no look
    watched = _mloop(workspace_dir, "watch", "--once")
    assert watched.returncode == 0, watched.stderr
    assert f"experiment {exp.id} on {ENDPOINT}: winner:canary" in watched.stdout
    shown = _mloop(workspace_dir, "show", str(exp.id))
    assert "winner:canary" in shown.stdout and "promoted 'canary'" in shown.stdout
    assert "counted as no click" in shown.stdout
    ws = open_workspace(workspace_dir)
    try:
        assert serving.history(ws, ENDPOINT, limit=1)[0]["action"] == "experiment"
    finally:
        ws.close()
    stopped = _mloop(workspace_dir, "stop", str(exp.id))
    assert stopped.returncode == 1 and "already ended (winner:canary)" in stopped.stderr
