"""`mloop step exec` (a Kubeflow task) records its run under the principal its token proves,
never under the pod's configured name, and refuses a task that proves someone else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import get_run


def _step(root: Path, monkeypatch: pytest.MonkeyPatch, run_id: str, step: str, token: str) -> Any:
    from typer.testing import CliRunner

    from mloop.cli.main import app

    monkeypatch.setenv("MLOOP_WORKSPACE", str(root))
    monkeypatch.setenv("MLOOP_AUTH__CLI", "token")
    monkeypatch.setenv("MLOOP_PRINCIPAL", "pod-config-name")  # what a pod's configuration says
    monkeypatch.setenv("MLOOP_TOKEN", token)
    return CliRunner().invoke(app, ["step", "exec", "--pipeline", "example", "--run-id", run_id, "--step", step,
                                    "--param", "n=20", "--no-tracking"])


def test_kfp_tasks_act_for_the_principal_of_their_token(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.auth import create_token
    from mloop.errors import PermissionDenied

    with open(workspace.root / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[pipelines]\nexample = "tests.support.example_pipeline:example"\n')
    ana, _ = create_token(workspace, "Ana", "deployer")
    bob, _ = create_token(workspace, "bob", "deployer")
    viewer, _ = create_token(workspace, "vic", "viewer")
    first = _step(workspace.root, monkeypatch, "kfp-job-1", "load", ana)
    assert first.exit_code == 0, first.output
    assert get_run(workspace, "kfp-job-1").principal == "ana"
    other = _step(workspace.root, monkeypatch, "kfp-job-1", "split", bob)
    assert isinstance(other.exception, PermissionDenied) and "acts for 'ana'" in other.exception.message
    assert get_run(workspace, "kfp-job-1").step("split").status == "Pending"
    weak = _step(workspace.root, monkeypatch, "kfp-job-2", "load", viewer)
    assert isinstance(weak.exception, PermissionDenied) and "needs 'deployer'" in weak.exception.message
    assert _step(workspace.root, monkeypatch, "kfp-job-1", "split", ana).exit_code == 0
