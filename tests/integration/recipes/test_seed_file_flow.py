"""Seed 001's commands on a file shaped like its real ad_click_dataset.csv, as a new user runs
them: `mloop init`, `mloop ingest FILE --group ad-clicks --id id` (no group before), then
`mloop run ad-click-ctr` with a random and a grouped split. Real subprocesses, piped output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mloop.recipes.datasets.seed_file import write_seed_shaped_csv
from tests.support.cli import run_mloop

pytestmark = pytest.mark.slow

FAST = ["--no-tracking"]  # the defaults otherwise (100 trees of depth 6); MLflow costs ~a minute here


def test_seed_commands_on_a_seed_shaped_file(tmp_path: Path) -> None:
    assert run_mloop(["init"], tmp_path).returncode == 0
    csv = write_seed_shaped_csv(tmp_path / "ad_click_dataset.csv")
    ingested = run_mloop(["ingest", csv.name, "--group", "ad-clicks", "--id", "id"], tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert "created feature group ad-clicks" in ingested.stdout
    assert "ingested 10,000 of 10,000 rows" in ingested.stdout
    assert "6,500 of 10,000 rows share their id" in ingested.stdout
    assert "ingest time, then row order" in ingested.stdout

    randomly = run_mloop(["run", "ad-click-ctr", *FAST], tmp_path)
    assert randomly.returncode == 0, randomly.stderr
    lines = randomly.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 or all("│" not in line for line in lines if len(line) > 80)
    gate = next(line for line in lines if line.startswith("auc "))
    assert ">= 0.7: registered ad-click-ctr v1, PendingManualApproval" in gate, randomly.stdout
    trained = next(line for line in lines if line.startswith("trained on"))
    assert trained.startswith("trained on 8,000 rows, 6 features: age, gender")
    assert "id (record id)" in trained and "full_name (identifies a person" in trained
    run_id = json.loads(run_mloop(["runs", "list", "--json"], tmp_path).stdout)[0]["id"]
    logs = run_mloop(["runs", "logs", run_id, "--step", "preprocess"], tmp_path)
    assert "ids have records in both train and test" in logs.stdout

    grouped = run_mloop(["run", "ad-click-ctr", *FAST, "--param", "split=group", "--json"], tmp_path)
    assert grouped.returncode == 0, grouped.stderr
    record = json.loads(grouped.stdout)
    assert record["outcome"][0].startswith("auc 0.")
    assert "< 0.7: not registered; alert #1" in record["outcome"][0]
    extracted = next(s for s in record["steps"] if s["name"] == "extract")
    assert extracted["status"] == "Cached"  # same records, only the split changed

    shown = run_mloop(["models", "show", "ad-click-ctr", "1"], tmp_path)
    assert "left out" in shown.stdout and "full_name" in shown.stdout
