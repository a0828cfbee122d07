"""Project pipelines (mloop.toml [pipelines], module in the workspace) through the real CLI:
retry/clone import the steps from the workspace, and `kill <pid>` (SIGTERM) on `mloop run` stops
the run like Ctrl-C (Stopped, then retry finishes it)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import clean_env
from tests.support.servers import wait_until

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow

PIPELINE = '''
import os, time
from pathlib import Path
from mloop.pipelines import step, pipeline

@step
def make(n: int) -> int:
    return n

@step
def slow(n: int, marker: str) -> int:
    if not Path(marker).exists():
        Path(marker).write_text("started")
        time.sleep(60)
    return n + 1

@pipeline(name="sigterm-slow")
def slow_pipeline(n: int = 1, marker: str = ""):
    slow(make(n), marker)

@step
def guarded(n: int, marker: str) -> int:
    if not Path(marker).exists():
        raise ValueError("not ready")
    return n

@pipeline(name="fail-first")
def fail_first(n: int = 1, marker: str = ""):
    guarded(make(n), marker)
'''


def _env(ws: Path) -> dict[str, str]:
    env = clean_env()
    env.update(MLOOP_WORKSPACE=str(ws), MLOOP_PRINCIPAL="tester",
               PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}")
    return env


def _project(ws: Path) -> None:
    (ws / "sigterm_project.py").write_text(PIPELINE, encoding="utf-8")
    with open(ws / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[pipelines]\nsigterm-slow = "sigterm_project:slow_pipeline"\n'
                 'fail-first = "sigterm_project:fail_first"\n')


def _cli(ws: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mloop", *args], env=_env(ws), cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def test_retry_and_clone_of_a_project_pipeline_import_its_steps(workspace_dir: Path, tmp_path: Path) -> None:
    _project(workspace_dir)
    marker = tmp_path / "ready"
    failed = _cli(workspace_dir, tmp_path, "run", "fail-first", "-p", f"marker={marker}", "--no-tracking")
    assert failed.returncode == 1 and "not ready" in failed.stderr
    run_id = json.loads(_cli(workspace_dir, tmp_path, "runs", "list", "--json").stdout)[0]["id"]
    marker.write_text("ok")
    retried = _cli(workspace_dir, tmp_path, "runs", "retry", run_id, "--json", "--no-tracking")
    assert json.loads(retried.stdout)["status"] == "Succeeded", retried.stdout
    cloned = _cli(workspace_dir, tmp_path, "runs", "clone", run_id, "-p", "n=2", "--json", "--no-tracking")
    assert json.loads(cloned.stdout)["status"] == "Succeeded", cloned.stdout


def test_sigterm_stops_the_run_and_retry_finishes_it(workspace_dir: Path, tmp_path: Path) -> None:
    _project(workspace_dir)
    marker = tmp_path / "started"
    proc = subprocess.Popen(["mloop", "run", "sigterm-slow", "-p", f"marker={marker}", "--no-tracking"],
                            env=_env(workspace_dir), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_until(marker.exists, timeout=60)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "Traceback" not in err
    assert "mloop runs retry" in err

    runs = json.loads(_cli(workspace_dir, tmp_path, "runs", "list", "--json").stdout)
    assert runs[0]["status"] == "Stopped"  # not Executing forever
    retried = json.loads(_cli(workspace_dir, tmp_path, "runs", "retry", runs[0]["id"], "--json",
                              "--no-tracking").stdout)
    assert retried["status"] == "Succeeded"


def test_a_run_whose_process_was_killed_9_is_retried(workspace_dir: Path, tmp_path: Path) -> None:
    """SIGKILL gives the run no chance to record anything; retry sees its process is gone."""
    _project(workspace_dir)
    marker = tmp_path / "started"
    proc = subprocess.Popen(["mloop", "run", "sigterm-slow", "-p", f"marker={marker}", "--no-tracking"],
                            env=_env(workspace_dir), cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(marker.exists, timeout=60)
        running = json.loads(_cli(workspace_dir, tmp_path, "runs", "list", "--json").stdout)[0]
        assert running["status"] == "Executing"
        refused = _cli(workspace_dir, tmp_path, "runs", "retry", running["id"], "--no-tracking")
        assert refused.returncode == 1 and "still executing" in refused.stderr  # alive: not retried
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # read as it truly is at once, everywhere, without anyone running `retry` first
    listed = json.loads(_cli(workspace_dir, tmp_path, "runs", "list", "--json").stdout)[0]
    assert listed["id"] == running["id"] and listed["status"] == "Stopped"
    graph = json.loads(_cli(workspace_dir, tmp_path, "lineage", "dump", "--pipeline", "sigterm-slow").stdout)
    assert graph["summary"]["overallStatus"] == "Stopped"
    assert "Executing" not in {n["run"]["status"] for n in graph["graph"]["nodes"] if n.get("run")}
    retried = json.loads(_cli(workspace_dir, tmp_path, "runs", "retry", running["id"], "--json",
                              "--no-tracking").stdout)
    assert retried["status"] == "Succeeded"
    original = json.loads(_cli(workspace_dir, tmp_path, "runs", "show", running["id"], "--json").stdout)
    assert original["status"] == "Stopped" and "is gone" in (original["error"] or "")
    statuses = {s["name"]: s["status"] for s in retried["steps"]}
    assert statuses == {"make": "Cached", "slow": "Succeeded"}  # the finished step is reused
