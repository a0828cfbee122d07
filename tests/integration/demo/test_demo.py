"""`mloop demo` as a user runs it: every chapter, real servers, a fresh workspace, exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mloop.demo import CHAPTERS
from tests.support.cli import clean_env

# The demo runs every chapter in one process: give it the subprocess's own bound, not the
# suite's 300 s default, so a busy machine slows it without failing it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(660)]
ROOT = Path(__file__).resolve().parents[3]


def _env() -> dict[str, str]:
    env = clean_env()
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return env


def test_the_whole_demo_runs_every_chapter_in_a_fresh_workspace(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "mloop", "demo", "--dir", str(target), "--json"],
                            env=_env(), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert [c["name"] for c in summary["chapters"]] == [name for name, _ in CHAPTERS]
    assert summary["workspace"] == str(target)
    state = summary["state"]  # the A/B test finds the better canary; the A/A test finds nothing
    assert (state["experiment_decision"], state["aa_decision"]) == ("winner:canary", "no_difference")
    tokens = [line.split()[-1] for line in (target / ".mloop" / "demo-tokens.txt").read_text().splitlines()[1:]]
    assert len(tokens) == 4 and not any(t in result.stdout + result.stderr for t in tokens)  # never printed
    assert not any(t in (target / "mloop.toml").read_text() for t in tokens)  # nor committed with the project
    shown = subprocess.run([sys.executable, "-m", "mloop", "runs", "list", "--json"], env=_env(),
                           capture_output=True, text=True, timeout=120, cwd=target)
    pipelines = {run["pipeline_name"] for run in json.loads(shown.stdout)}
    assert {"ad-click-ctr", "housing"} <= pipelines
    assert _processes_of(target) == [], "the demo left servers running"


def _processes_of(workspace: Path) -> list[str]:
    """Command lines of live processes started for `workspace` (by argument, cwd or environment)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "environ"]):
        info = proc.info
        text = " ".join(info.get("cmdline") or []) + f" {info.get('cwd')} " + str(info.get("environ") or {})
        if str(workspace) in text and proc.pid != os.getpid():
            found.append(" ".join(info.get("cmdline") or []))
    return found


def test_the_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("my project")
    result = subprocess.run([sys.executable, "-m", "mloop", "demo", "--dir", str(tmp_path)], env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "not empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
