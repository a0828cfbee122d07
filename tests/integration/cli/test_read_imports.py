"""Read commands and approvals answer in well under a second because they import nothing heavy.

Each command runs as a user runs it (a fresh process) on a workspace with a finished training
run, a feature group and registered versions; what it imported is read from `sys.modules` as the
process exits. Timing itself belongs to `bench/cli.py`, not to tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import clean_env

HEAVY = ["mlflow", "pandas", "numpy", "pyarrow", "duckdb", "sklearn", "xgboost", "skops", "scipy",
         "alembic", "fastapi"]
PROBE = (
    "import atexit, json, sys\n"
    f"heavy = {HEAVY!r}\n"
    "atexit.register(lambda: sys.stderr.write('IMPORTED ' + json.dumps([m for m in heavy if m in sys.modules])))\n"
    "sys.argv = ['mloop', *sys.argv[1:]]\n"
    "from mloop.cli.main import main\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from mloop import registry
    from mloop.config import init_workspace
    from mloop.features import create_group, ingest
    from mloop.pipelines import run_pipeline
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec
    from mloop.store import open_workspace

    root = tmp_path_factory.mktemp("reads") / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    create_group(ws, ad_clicks_spec("clicks"))
    ad_clicks(200, seed=1).to_csv(root / "clicks.csv", index=False)
    ingest(ws, root / "clicks.csv", "clicks")
    run = run_pipeline(ws, "housing", {"data_source": "synthetic:300", "n_estimators": 3, "max_depth": 3,
                                       "r2_threshold": 0.0}, principal="seeder")
    assert run.status == "Succeeded"
    (root / "model").mkdir()
    for _ in range(2):
        registry.register(ws, "reads-model", str(root / "model"), principal="seeder")
    ws.close()
    return root, run.id


def imported(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = clean_env()
    env.update(MLOOP_WORKSPACE=str(root), MLOOP_PRINCIPAL="reader")
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    marker = done.stderr.rsplit("IMPORTED ", 1)
    assert len(marker) == 2, done.stderr
    return done, json.loads(marker[1])


@pytest.mark.parametrize("args", [
    ["runs", "list"], ["runs", "show", "{run}"], ["runs", "logs", "{run}", "--step", "train"],
    ["features", "list"], ["features", "show", "clicks"],
    ["models", "list"], ["models", "show", "reads-model"], ["models", "history", "reads-model"],
    ["endpoints", "list"], ["alerts", "list"], ["config", "show"], ["release", "list"],
    ["lineage", "dump", "--pipeline", "housing"],
    # decisions write mloop's records; MLflow's tag follows from a background drainer
    ["models", "approve", "reads-model", "1", "-m", "ok"], ["models", "reject", "reads-model", "2", "-m", "no"],
], ids=" ".join)
def test_read_commands_import_nothing_heavy(seeded: tuple[Path, str], args: list[str]) -> None:
    root, run_id = seeded
    done, heavy = imported(root, *[a.format(run=run_id) for a in args])
    assert done.returncode == 0, done.stderr
    assert heavy == []


def test_runs_show_still_says_what_the_model_was_trained_on(seeded: tuple[Path, str]) -> None:
    # read from the model's spec file, not by loading the model (which imports scikit-learn)
    root, run_id = seeded
    done, heavy = imported(root, "runs", "show", run_id)
    assert "trained on 240 rows, 8 features: MedInc, HouseAge" in done.stdout
    assert "registered housing v1, PendingManualApproval" in done.stdout
    assert heavy == []
