"""Seed 001's nuke & redeploy, tried as a new user would, in one folder.

Ingest the ad-click CSV, run the reference pipeline twice (the unchanged re-run registers
nothing new), approve, deploy; a group in use cannot be deleted; `mloop destroy` asks, then
removes every record and file in dependency order; the same flow then runs again there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mloop import registry, serving
from mloop.pipelines import run_pipeline

pytestmark = pytest.mark.slow

AD_PARAMS = {"n_estimators": 10, "max_depth": 3, "auc_threshold": 0.6}


def cli(ws: Any, monkeypatch: pytest.MonkeyPatch, *args: str, answer: str | None = None) -> Any:
    from typer.testing import CliRunner

    from mloop.cli.main import app

    monkeypatch.setenv("MLOOP_WORKSPACE", str(ws.root))
    return CliRunner().invoke(app, list(args), input=answer)


def seed_flow(ws: Any) -> tuple[Any, list[str]]:
    """Ingest, train twice, approve, deploy; returns the deployed version and the offline files."""
    from mloop.features import create_group, get_group, ingest
    from mloop.features.offline.source import group_files
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    create_group(ws, ad_clicks_spec("ad-clicks"))
    csv = ws.root / "ad_click_dataset.csv"
    ad_clicks(1500, seed=1).to_csv(csv, index=False)
    ingest(ws, csv, "ad-clicks")
    first = run_pipeline(ws, "ad-click-ctr", AD_PARAMS)
    assert first.status == "Succeeded", first.error
    again = run_pipeline(ws, "ad-click-ctr", AD_PARAMS)  # unchanged: training cached, same files
    assert again.status == "Succeeded" and again.step("train").status == "Cached"
    assert [v.version for v in registry.versions(ws, "ad-click-ctr")] == [1]
    mv = registry.approve(ws, "ad-click-ctr", 1, principal="approver", comment="auc ok")
    serving.deploy(ws, "ad-click", "ad-click-ctr", latest_approved=True)
    return mv, [path for _, path in group_files(ws, get_group(ws, "ad-clicks"))]


def test_destroy_then_the_whole_flow_again_in_the_same_folder(
    ml_workspace: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = ml_workspace
    _mv, offline = seed_flow(ws)
    assert offline and all(Path(p).exists() for p in offline)

    in_use = cli(ws, monkeypatch, "features", "delete", "ad-clicks", "--purge", "--yes")
    assert in_use.exit_code == 1 and "pipeline ad-click-ctr" in str(in_use.exception)
    assert "endpoint ad-click" in str(in_use.exception) and "--force" in in_use.exception.hint

    kept = cli(ws, monkeypatch, "destroy", answer="n\n")
    assert kept.exit_code == 1 and "This deletes 1 endpoint(s), 1 model version(s)" in kept.output
    assert serving.list_endpoints(ws) and all(Path(p).exists() for p in offline)

    done = cli(ws, monkeypatch, "destroy", "--yes", "--json")
    assert done.exit_code == 0, done.output
    gone = json.loads(done.output)
    assert gone["endpoints"] == ["ad-click"] and gone["models"] == {"ad-click-ctr": 1} and gone["runs"] == 2
    assert "ad-clicks" in gone["feature_groups"] and gone["artifacts"] > 0
    assert not any(Path(p).exists() for p in offline)
    assert serving.list_endpoints(ws) == [] and registry.list_models(ws) == []
    shown = json.loads(cli(ws, monkeypatch, "runs", "list", "--json").output)
    assert shown == [] and (ws.root / "mloop.toml").exists()

    mv, offline = seed_flow(ws)  # nuke & redeploy: the same folder, the same names, version 1 again
    assert mv.version == 1 and mv.status == "Approved"
    assert [(v.model_name, v.model_version) for v in serving.get_endpoint(ws, "ad-click").variants] == [
        ("ad-click-ctr", 1)]
