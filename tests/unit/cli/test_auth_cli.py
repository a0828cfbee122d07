"""`mloop auth tokens create | list | revoke` and when commands must present MLOOP_TOKEN."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mloop.auth import cli_mode
from mloop.store import open_workspace
from tests.support.cli import clean_env

MLOOP = [sys.executable, "-m", "mloop"]


def mloop(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = clean_env() | {"MLOOP_PRINCIPAL": "root"} | env
    return subprocess.run([*MLOOP, *args], cwd=root, env=full, capture_output=True, text=True, timeout=120)


def invoke(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str, token: str | None = None,
           principal: str = "root") -> Any:
    """In-process for speed (the subprocess tests below cover the error printer)."""
    from typer.testing import CliRunner

    from mloop.cli.main import app

    monkeypatch.setenv("MLOOP_WORKSPACE", str(root))
    monkeypatch.setenv("MLOOP_PRINCIPAL", principal)
    if token is None:
        monkeypatch.delenv("MLOOP_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MLOOP_TOKEN", token)
    return CliRunner().invoke(app, list(args))


def test_tokens_are_printed_once_listed_without_secrets_and_revoked(workspace_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.errors import PermissionDenied, Unauthenticated

    created = invoke(workspace_dir, monkeypatch, "auth", "tokens", "create", "--principal", "Admin", "--role", "admin")
    assert created.exit_code == 0, created.output
    admin = created.stdout.splitlines()[-1]
    assert admin.startswith("mlp_") and "only time it is shown" in created.stderr
    ana = json.loads(invoke(workspace_dir, monkeypatch, "auth", "tokens", "create", "-p", "ana", "-r", "approver",
                            "--json", token=admin).stdout)
    # Once an admin token exists, issuing tokens takes one; the OS user is not enough.
    again = invoke(workspace_dir, monkeypatch, "auth", "tokens", "create", "-p", "eve", "-r", "admin",
                   token=ana["token"])
    assert isinstance(again.exception, PermissionDenied) and "has role 'approver'" in again.exception.message
    listed = invoke(workspace_dir, monkeypatch, "auth", "tokens", "list", "--json", token=admin)
    rows = json.loads(listed.stdout)
    assert [(r["principal"], r["role"]) for r in rows] == [("admin", "admin"), ("ana", "approver")]
    assert admin not in listed.stdout and ana["token"] not in listed.stdout
    revoked = invoke(workspace_dir, monkeypatch, "auth", "tokens", "revoke", str(ana["id"]), token=admin)
    assert revoked.exit_code == 0 and "revoked token" in revoked.stdout
    whoami = invoke(workspace_dir, monkeypatch, "auth", "whoami", token=ana["token"])
    assert isinstance(whoami.exception, Unauthenticated) and whoami.exception.message == "unknown or revoked token"
    assert "ana (role admin, proven by os" in invoke(workspace_dir, monkeypatch, "auth", "whoami",
                                                     principal=" ANA ").stdout


def test_token_mode_is_the_default_on_a_shared_database(workspace_dir: Path, pg_url: str) -> None:
    assert cli_mode(open_workspace(workspace_dir)) == "os"
    shared = open_workspace(workspace_dir, database_url=pg_url)
    assert cli_mode(shared) == "token"
    elsewhere = open_workspace(workspace_dir, database_url=f"sqlite:///{workspace_dir.parent / 'shared.db'}")
    assert cli_mode(elsewhere) == "token"
    assert cli_mode(open_workspace(workspace_dir, database_url=pg_url, auth__cli="os")) == "os"
    refused = mloop(workspace_dir, "deploy", "ep", "--model", "m", "--version", "1",
                    MLOOP_DATABASE_URL=pg_url)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0].startswith("error: `mloop deploy` needs a token")
    assert "MLOOP_TOKEN" in refused.stderr


def test_configured_tokens_move_out_of_the_file_with_a_message(workspace_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = workspace_dir / "mloop.toml"
    config.write_text(config.read_text() + '\n[auth.tokens]\n"plain-secret-42" = { principal = "ana", '
                      'role = "approver" }\n')
    result = mloop(workspace_dir, "auth", "whoami", MLOOP_TOKEN="plain-secret-42")
    assert result.returncode == 0, result.stderr
    assert "ana (role approver, proven by token" in result.stdout
    assert "moved 1 token(s) from [auth.tokens]" in result.stderr and "plain-secret-42" not in result.stderr
    assert "plain-secret-42" not in config.read_text()
    again = invoke(workspace_dir, monkeypatch, "auth", "whoami", token="plain-secret-42")
    assert again.exit_code == 0 and "moved" not in again.stderr


MUTATIONS = [
    ["models", "approve", "m", "1", "-m", "x"], ["models", "reject", "m", "1", "-m", "x"],
    ["endpoints", "rollback", "ep"], ["endpoints", "promote", "ep"],
    ["endpoints", "set-weights", "ep", "production=100"],
    ["release", "approve", "1", "-m", "x"], ["runs", "retry", "r-1"], ["destroy", "--yes"],
    ["models", "delete", "m"], ["runs", "delete", "r-1"], ["endpoints", "delete", "ep"], ["features", "delete", "g"],
    ["models", "register", "m", "--from-run", "r-1", "--task", "train"], ["models", "sync"],
    ["ingest", "rows.csv", "--group", "g", "--id", "id"],
    ["features", "create", "g", "--from-csv", "rows.csv", "--id", "id"],
    ["features", "verify", "--repair"], ["step", "exec", "--pipeline", "p", "--run-id", "r-1", "--step", "s"],
]


@pytest.mark.parametrize("command", MUTATIONS)
def test_every_mutation_asks_for_the_token(workspace_dir: Path, command: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mloop.cli.main import app
    from mloop.errors import Unauthenticated

    monkeypatch.setenv("MLOOP_WORKSPACE", str(workspace_dir))
    monkeypatch.setenv("MLOOP_AUTH__CLI", "token")
    result = CliRunner().invoke(app, command)
    assert isinstance(result.exception, Unauthenticated) and "needs a token" in result.exception.message


def test_ingest_and_sync_take_a_deployers_token_and_act_as_its_principal(workspace_dir: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Roles as in the dashboard: an approver may not feed the training set; a deployer may."""
    from mloop.auth import create_token
    from mloop.errors import PermissionDenied
    from mloop.features import get_group
    from mloop.features.groups import ingestions

    ws = open_workspace(workspace_dir)
    approver, _ = create_token(ws, "Ana", "approver")
    deployer, _ = create_token(ws, "Dev", "deployer")
    ws.close()
    rows = workspace_dir / "clicks.csv"
    rows.write_text("id,age,device\n1,31,Mobile\n1,31.0,Mobile\n2,,Desktop\n", encoding="utf-8")
    monkeypatch.setenv("MLOOP_AUTH__CLI", "token")
    refused = invoke(workspace_dir, monkeypatch, "ingest", str(rows), "--group", "clicks", "--id", "id",
                     token=approver)
    assert isinstance(refused.exception, PermissionDenied) and "`mloop ingest` needs 'deployer'" in \
        refused.exception.message
    done = invoke(workspace_dir, monkeypatch, "ingest", str(rows), "--group", "clicks", "--id", "id",
                  "--json", token=deployer)
    assert done.exit_code == 0, done.output
    ws = open_workspace(workspace_dir)
    assert len(ingestions(ws, get_group(ws, "clicks"))) == 1
    ws.close()
    synced = invoke(workspace_dir, monkeypatch, "models", "sync", "--json", token=approver)
    assert isinstance(synced.exception, PermissionDenied)
