"""`mloop auth tokens create | list | revoke` and when commands must present MLOOP_TOKEN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mloop.auth import cli_mode
from mloop.store import open_workspace

MLOOP = [sys.executable, "-m", "mloop"]


def mloop(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_")} | {"MLOOP_PRINCIPAL": "root"} | env
    return subprocess.run([*MLOOP, *args], cwd=root, env=full, capture_output=True, text=True, timeout=120)


def test_tokens_are_printed_once_listed_without_secrets_and_revoked(workspace_dir: Path) -> None:
    created = mloop(workspace_dir, "auth", "tokens", "create", "--principal", "Admin", "--role", "admin")
    assert created.returncode == 0, created.stderr
    admin = created.stdout.splitlines()[-1]
    assert admin.startswith("mlp_") and "only time it is shown" in created.stderr
    ana = json.loads(mloop(workspace_dir, "auth", "tokens", "create", "-p", "ana", "-r", "approver", "--json",
                           MLOOP_TOKEN=admin).stdout)
    # Once an admin token exists, issuing tokens takes one; the OS user is not enough.
    again = mloop(workspace_dir, "auth", "tokens", "create", "-p", "eve", "-r", "admin", MLOOP_TOKEN=ana["token"])
    assert again.returncode == 1 and "has role 'approver'" in again.stderr
    listed = mloop(workspace_dir, "auth", "tokens", "list", "--json", MLOOP_TOKEN=admin)
    rows = json.loads(listed.stdout)
    assert [(r["principal"], r["role"]) for r in rows] == [("admin", "admin"), ("ana", "approver")]
    assert admin not in listed.stdout and ana["token"] not in listed.stdout
    revoked = mloop(workspace_dir, "auth", "tokens", "revoke", str(ana["id"]), MLOOP_TOKEN=admin)
    assert revoked.returncode == 0 and "revoked token" in revoked.stdout
    whoami = mloop(workspace_dir, "auth", "whoami", MLOOP_TOKEN=ana["token"])
    assert whoami.returncode == 1 and whoami.stderr.startswith("error: unknown or revoked token")
    assert "ana" in mloop(workspace_dir, "auth", "whoami", MLOOP_PRINCIPAL=" ANA ").stdout  # os mode


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


def test_configured_tokens_move_out_of_the_file_with_a_message(workspace_dir: Path) -> None:
    config = workspace_dir / "mloop.toml"
    config.write_text(config.read_text() + '\n[auth.tokens]\n"plain-secret-42" = { principal = "ana", '
                      'role = "approver" }\n')
    result = mloop(workspace_dir, "auth", "whoami", MLOOP_TOKEN="plain-secret-42")
    assert result.returncode == 0, result.stderr
    assert "ana (role approver, proven by token" in result.stdout
    assert "moved 1 token(s) from [auth.tokens]" in result.stderr and "plain-secret-42" not in result.stderr
    assert "plain-secret-42" not in config.read_text()
    again: Any = mloop(workspace_dir, "auth", "whoami", MLOOP_TOKEN="plain-secret-42")
    assert again.returncode == 0 and "moved" not in again.stderr


@pytest.mark.parametrize("command", [["models", "approve", "m", "1", "-m", "x"], ["models", "reject", "m", "1", "-m", "x"],
                                     ["endpoints", "rollback", "ep"], ["endpoints", "promote", "ep"],
                                     ["endpoints", "set-weights", "ep", "production=100"],
                                     ["release", "approve", "1", "-m", "x"], ["runs", "retry", "r-1"]])
def test_every_mutation_asks_for_the_token(workspace_dir: Path, command: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mloop.cli.main import app
    from mloop.errors import Unauthenticated

    monkeypatch.setenv("MLOOP_WORKSPACE", str(workspace_dir))
    monkeypatch.setenv("MLOOP_AUTH__CLI", "token")
    result = CliRunner().invoke(app, command)
    assert isinstance(result.exception, Unauthenticated) and "needs a token" in result.exception.message
