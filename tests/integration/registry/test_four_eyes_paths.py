"""Four-eyes (`registry.require_distinct_approver`) through every path a version can take: the CLI
(with MLOOP_TOKEN, and with a typed name in another case), a dashboard clone, and a release. The
registrant is always who started the run, proven by a token, never the process's OS user."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mloop import registry
from mloop.auth import create_token
from mloop.cli.main import app as cli
from mloop.errors import PermissionDenied, Unauthenticated
from mloop.registry import FourEyesViolation
from mloop.store import open_workspace
from tests.support.dashboard import csrf_token
from tests.support.release_repo import git
from tests.support.servers import wait_until

PIPELINE = '''
from mloop.pipelines import current_context, pipeline, step


@step(kind="RegisterModel")
def register_it(model_name: str) -> dict:
    from mloop import registry

    ctx = current_context()
    version = registry.register(ctx.workspace, model_name, "s3://bucket/four-eyes",
                                metadata={"pipeline_run_id": ctx.run_id})
    return {"version": version.version}


@pipeline(name="tiny")
def tiny(model_name: str = "fe-model"):
    register_it(model_name)
'''

CONFIG = '''
principal = "server-os-user"

[pipelines]
tiny = "four_eyes_pipeline:tiny"

[registry]
require_distinct_approver = true

[auth]
cli = "token"

[release]
pipeline = "tiny"
model = "fe-model"
endpoint = "fe-endpoint"
poll_interval = 0.05
'''


@pytest.fixture
def project(ml_workspace: Any, git_env: None) -> Iterator[tuple[Any, dict[str, str]]]:
    root: Path = ml_workspace.root
    (root / "four_eyes_pipeline.py").write_text(PIPELINE)
    (root / "mloop.toml").write_text((root / "mloop.toml").read_text() + CONFIG)
    git(root, "init", "-q", "-b", "main")  # a release needs a source commit
    git(root, "add", "mloop.toml", "four_eyes_pipeline.py")
    git(root, "commit", "-q", "-m", "tiny")
    ws = open_workspace(root)
    tokens = {name: create_token(ws, name.capitalize(), role)[0]
              for name, role in (("ana", "deployer"), ("bob", "approver"), ("vic", "viewer"))}
    yield ws, tokens
    ws.close()


def cli_as(ws: Any, monkeypatch: pytest.MonkeyPatch, token: str | None, *args: str) -> Any:
    monkeypatch.setenv("MLOOP_WORKSPACE", str(ws.root))
    monkeypatch.setenv("MLOOP_PRINCIPAL", "bob")  # a typed name: never trusted when cli = "token"
    if token is None:
        monkeypatch.delenv("MLOOP_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MLOOP_TOKEN", token)
    return CliRunner().invoke(cli, list(args))


def test_cli_identity_comes_from_the_token(project: tuple[Any, dict[str, str]],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ws, tokens = project
    anonymous = cli_as(ws, monkeypatch, None, "run", "tiny", "--no-tracking")
    assert isinstance(anonymous.exception, Unauthenticated) and "MLOOP_TOKEN" in anonymous.exception.hint
    viewer = cli_as(ws, monkeypatch, tokens["vic"], "run", "tiny", "--no-tracking")
    assert isinstance(viewer.exception, PermissionDenied) and "needs 'deployer'" in viewer.exception.message
    ran = cli_as(ws, monkeypatch, tokens["ana"], "run", "tiny", "--no-tracking", "--json")
    assert ran.exit_code == 0, ran.output
    version = registry.get_version(ws, "fe-model", 1)
    assert version.registered_by == "ana"  # the token's principal, not MLOOP_PRINCIPAL nor the OS user
    own = cli_as(ws, monkeypatch, tokens["ana"], "models", "approve", "fe-model", "1", "-m", "mine")
    assert isinstance(own.exception, FourEyesViolation)
    unproven = cli_as(ws, monkeypatch, None, "models", "approve", "fe-model", "1", "-m", "I am bob")
    assert isinstance(unproven.exception, Unauthenticated)
    other = cli_as(ws, monkeypatch, tokens["bob"], "models", "approve", "fe-model", "1", "-m", "checked", "--json")
    assert other.exit_code == 0, other.output
    assert registry.get_version(ws, "fe-model", 1).decided_by == "bob"


def test_cli_clone_and_a_typed_name_in_another_case(project: tuple[Any, dict[str, str]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws, tokens = project
    first = cli_as(ws, monkeypatch, tokens["ana"], "run", "tiny", "--no-tracking", "--json")
    run_id = re.search(r'"id": "([^"]+)"', first.stdout).group(1)  # type: ignore[union-attr]
    cloned = cli_as(ws, monkeypatch, tokens["ana"], "runs", "clone", run_id, "--no-tracking", "--param",
                    "model_name=fe-clone")
    assert cloned.exit_code == 0, cloned.output
    assert registry.get_version(ws, "fe-clone", 1).registered_by == "ana"
    # A single-user workspace trusts the configured name, compared after trim + casefold.
    monkeypatch.setenv("MLOOP_AUTH__CLI", "os")
    typed = cli_as(ws, monkeypatch, None, "models", "approve", "fe-clone", "1", "-m", "bob checked")
    assert typed.exit_code == 0, typed.output
    registry.reject(ws, "fe-clone", 1, principal="bob", comment="undo")
    monkeypatch.setenv("MLOOP_PRINCIPAL", "  ANA ")
    monkeypatch.delenv("MLOOP_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["models", "approve", "fe-clone", "1", "-m", "mine, shouted"])
    assert isinstance(result.exception, FourEyesViolation)


def test_dashboard_clone_registers_as_the_deployer_who_cannot_approve_it(
        project: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.pipelines import get_run, run_pipeline
    from mloop.web import create_app

    ws, tokens = project
    original = run_pipeline(ws, "tiny", {"model_name": "fe-seed"}, tracking=False, principal="bob")
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        client.post("/ui/login", data={"token": tokens["ana"], "csrf": csrf_token(client.get("/ui/login").text)})
        csrf = csrf_token(client.get(f"/ui/runs/{original.id}").text)
        cloned = client.post(f"/ui/runs/{original.id}/action", follow_redirects=False,
                             data={"csrf": csrf, "action": "clone", "param:model_name": "fe-dash"})
        assert cloned.status_code == 303, cloned.text[-500:]
        new_id = cloned.headers["location"].rsplit("run=", 1)[1]
        wait_until(lambda: get_run(ws, new_id).status == "Succeeded", timeout=30, what="the clone")
        assert get_run(ws, new_id).principal == "ana"
        assert registry.get_version(ws, "fe-dash", 1).registered_by == "ana"  # not the server's OS user
        form = csrf_token(client.get("/ui/models/fe-dash").text)
        refused = client.post("/ui/models/fe-dash/1/decision",
                              data={"csrf": form, "decision": "approve", "comment": "mine"})
        assert refused.status_code == 403 and "four-eyes" in refused.text
    assert registry.get_version(ws, "fe-dash", 1).status == "PendingManualApproval"


def test_a_release_registers_as_whoever_started_it(project: tuple[Any, dict[str, str]]) -> None:
    from mloop.release import approve_release, get_release, start_release

    ws, _ = project
    noop = {"Deploy": lambda ctx: {}, "Verify": lambda ctx: {}}  # no model server needed here
    box: dict[str, Any] = {}
    driver = threading.Thread(target=lambda: box.update(
        release=start_release(ws, allow_dirty=True, stages=noop, principal="Ana")), daemon=True)
    driver.start()
    wait_until(lambda: _waiting(ws), timeout=60, what="the release to wait for approval")
    release = _waiting(ws)
    assert release.created_by == "ana"
    assert registry.get_version(ws, "fe-model", release.model_version).registered_by == "ana"
    with pytest.raises(FourEyesViolation):
        approve_release(ws, release.id, principal=" ANA", comment="mine")
    approve_release(ws, release.id, principal="bob", comment="checked")
    driver.join(60)
    assert get_release(ws.db, release.id).status == "Succeeded"


def _waiting(ws: Any) -> Any:
    from mloop.release import list_releases

    found = [r for r in list_releases(ws.db) if r.model_version and r.stage == "Approval" and not r.finished]
    return found[0] if found else None
