"""`mloop auth`: bearer tokens (stored hashed in the metadata database) and who you are."""

from __future__ import annotations

import typer

from mloop.auth import cli_mode, create_token, ensure_tokens_migrated, list_tokens, normalize, require, revoke_token
from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, print_json, table, workspace

auth_app = typer.Typer(help="Tokens for the dashboard, the HTTP APIs and MLOOP_TOKEN.", no_args_is_help=True)
tokens_app = typer.Typer(help="Issue, list and revoke bearer tokens.", no_args_is_help=True)


def _admin(action: str) -> tuple[object, str]:
    """The workspace and the admin running `action`; the very first admin token needs no token."""
    ws = workspace()
    ensure_tokens_migrated(ws)
    if action == "create" and not any(t.role == "admin" for t in list_tokens(ws)):
        return ws, normalize(ws.settings.principal) or "bootstrap"  # no admin yet: whoever reaches the database
    return ws, authorize(ws, "admin", action=f"`mloop auth tokens {action}`")


@tokens_app.command("create")
def create(
    principal: str = typer.Option(..., "--principal", "-p", help="Who the token belongs to."),
    role: str = typer.Option(..., "--role", "-r", help="viewer, approver, deployer or admin."),
    note: str | None = typer.Option(None, "--note", help="What the token is for."),
    as_json: bool = JsonOption,
) -> None:
    """Issue a token and print it once: only its SHA-256 digest is stored."""
    ws, by = _admin("create")
    token, record = create_token(ws, principal, role, created_by=by, note=note)  # type: ignore[arg-type]
    if as_json:
        print_json({"token": token, **record.to_dict()})
        return
    out = console()
    out.print(f"token {record.id} for [bold]{record.principal}[/] (role {record.role}):")
    out.print(token, markup=False)
    console(stderr=True).print("This is the only time it is shown; store it now "
                               "(MLOOP_TOKEN for the CLI, the dashboard's login form, a bearer header).")


@tokens_app.command("list")
def list_cmd(
    all_: bool = typer.Option(False, "--all", help="Include revoked tokens."),
    as_json: bool = JsonOption,
) -> None:
    """Every token: id, first characters, principal, role (never the token)."""
    ws, _ = _admin("list")
    rows = [t.to_dict() for t in list_tokens(ws, include_revoked=all_)]  # type: ignore[arg-type]
    emit(rows, as_json, lambda r: table(r, ["id", "hint", "principal", "role", "created_at", "created_by",
                                            "note", "revoked"], title="tokens") if r else
         console().print("no tokens yet: `mloop auth tokens create --principal NAME --role ROLE`"))


@tokens_app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., help="The id `mloop auth tokens list` shows."),
    as_json: bool = JsonOption,
) -> None:
    """Revoke a token: it and every dashboard session opened with it stop working at once."""
    ws, _ = _admin("revoke")
    record = revoke_token(ws, token_id)  # type: ignore[arg-type]
    emit(record.to_dict(), as_json, lambda r: console().print(
        f"revoked token {r['id']} ({r['hint']}) of {r['principal']}"))


@auth_app.command("whoami")
def whoami(as_json: bool = JsonOption) -> None:
    """Who commands run as here (MLOOP_TOKEN's principal, or the configured one) and how it is proven."""
    ws = workspace()
    mode = cli_mode(ws)
    who = require(ws, "viewer", action="`mloop auth whoami`")
    data = {"principal": who.name, "role": who.role, "proven_by": "token" if who.authenticated else "os",
            "cli": mode}
    emit(data, as_json, lambda d: console().print(
        f"{d['principal']} (role {d['role']}, proven by {d['proven_by']}; [auth] cli = {d['cli']})"))


def register(app: typer.Typer) -> None:
    auth_app.add_typer(tokens_app, name="tokens")
    app.add_typer(auth_app, name="auth")
