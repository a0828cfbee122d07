"""`mloop destroy`: the whole workspace's records and files, in dependency order."""

from __future__ import annotations

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, workspace
from mloop.errors import InvalidInput


def destroy(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JsonOption,
) -> None:
    """Delete every endpoint, model version, run, feature group and artifact of this workspace.

    mloop.toml stays: the same folder runs the whole flow again (seed 001's nuke & redeploy).
    """
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.teardown import destroy as run_destroy
    from mloop.teardown import plan

    ws = workspace()
    authorize(ws, "admin", action="`mloop destroy`")
    before = plan(ws)
    if not yes:
        if as_json:
            raise InvalidInput("mloop destroy --json needs --yes (there is no prompt to answer)")
        versions = sum(before.models.values())
        console().print(
            f"This deletes {len(before.endpoints)} endpoint(s), {versions} model version(s) of "
            f"{len(before.models)} model(s), {before.runs} run(s), {len(before.feature_groups)} feature group(s) "
            f"and {before.artifacts} artifact(s) of the workspace at {ws.root}.")
        typer.confirm("Destroy it all?", abort=True)
    done = run_destroy(ws)
    emit(done.to_dict(), as_json, lambda d: console().print(
        f"destroyed: {len(d['endpoints'])} endpoint(s), {sum(d['models'].values())} model version(s), "
        f"{d['runs']} run(s), {len(d['feature_groups'])} feature group(s), {d['artifacts']} artifact(s); "
        "mloop.toml kept"))


def register(app: typer.Typer) -> None:
    app.command("destroy")(destroy)
