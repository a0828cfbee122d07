"""The real `mloop` CLI on a workspace: run, runs list/show/logs/retry/clone, errors a user sees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import clean_env

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def mloop(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.update(MLOOP_WORKSPACE=str(ws), PYTHONPATH=str(ROOT), MLOOP_PRINCIPAL="tester",
               PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}")
    return subprocess.run(["mloop", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_cli_run_inspect_retry_clone(workspace_dir: Path, tmp_path: Path) -> None:
    with open(workspace_dir / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[pipelines]\nfix = "tests.support.example_pipeline:fail_then_fix"\n')
    marker = tmp_path / "fixed"
    typo = mloop(workspace_dir, "run", "fix", "--param", "mraker=x")
    assert typo.returncode == 1
    assert "pipeline 'fail-then-fix' has no parameter 'mraker'" in typo.stderr
    assert "did you mean 'marker'" in typo.stderr and "Traceback" not in typo.stderr

    failed = mloop(workspace_dir, "run", "fix", "-p", f"marker={marker}", "--no-tracking")
    assert failed.returncode == 1
    assert "step 'guarded' failed: ValueError: the input is not ready" in failed.stderr
    assert "mloop runs logs" in failed.stderr and "Traceback" not in failed.stderr
    runs: list[dict[str, Any]] = json.loads(mloop(workspace_dir, "runs", "list", "--json").stdout)
    run_id = runs[0]["id"]
    assert runs[0]["status"] == "Failed"
    logs = json.loads(mloop(workspace_dir, "runs", "logs", run_id, "--step", "guarded", "--json").stdout)
    assert "ValueError: the input is not ready" in logs["errors"]["guarded"]

    marker.write_text("ok")
    retried = json.loads(mloop(workspace_dir, "runs", "retry", run_id, "--json", "--no-tracking").stdout)
    assert retried["status"] == "Succeeded" and retried["origin_run_id"] == run_id
    assert [s["status"] for s in retried["steps"]] == ["Cached", "Succeeded"]
    cloned = mloop(workspace_dir, "runs", "clone", retried["id"], "-p", "n=1", "--json", "--no-tracking")
    assert json.loads(cloned.stdout)["params"]["n"] == 1
    shown = mloop(workspace_dir, "runs", "show", retried["id"])
    assert shown.returncode == 0 and "retry of run" in shown.stdout
    listed = json.loads(mloop(workspace_dir, "pipelines", "list", "--json").stdout)
    assert {"name": "fix", "source": "tests.support.example_pipeline:fail_then_fix",
            "origin": "mloop.toml"} in listed
