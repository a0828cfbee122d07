"""`mloop lineage dump|show|model` as a user runs them: a real subprocess in a workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from mloop.lineage.schema import component
from mloop.store import open_workspace
from tests.support.cli import clean_env
from tests.support.lineage_pipelines import make_small, run_small_pipeline


def mloop(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])  # tests.* importable by step refs
    return subprocess.run([sys.executable, "-m", "mloop", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_dump_show_and_errors(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    small = make_small()
    run = run_small_pipeline(ws, small)
    ws.close()
    out = workspace_dir / "out" / "lineage.json"
    dumped = mloop(["lineage", "dump", "--pipeline-name", small.name, "--include-latest-exec", "--out", str(out)],
                   workspace_dir)
    assert dumped.returncode == 0, dumped.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, component("lineage"))
    assert data["execution"]["runId"] == run.id and "8 nodes" in dumped.stdout

    shown = mloop(["lineage", "show", small.name], workspace_dir)
    assert shown.returncode == 0, shown.stderr
    assert "Succeeded" in shown.stdout and "train" in shown.stdout and "validation:auc=0.63" in shown.stdout

    missing = mloop(["lineage", "show", small.name + "z"], workspace_dir)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith(f"error: pipeline '{small.name}z' not found")
    assert f"did you mean '{small.name}'" in missing.stderr
    model = mloop(["lineage", "model", "nope", "1"], workspace_dir)
    assert model.returncode == 1 and "model 'nope' not found" in model.stderr
