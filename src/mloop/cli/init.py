"""`mloop init` and `mloop config show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mloop.cli._output import JsonOption, console, emit, print_json, table

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


def init(
    directory: Path = typer.Argument(Path("."), help="Where to create the workspace."),
    as_json: bool = JsonOption,
) -> None:
    """Create a workspace (mloop.toml and .mloop/); never overwrites existing files."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.config import init_workspace

    created = init_workspace(directory)
    root = directory.resolve()
    data = {"workspace": str(root), "created": [str(p) for p in created]}
    if as_json:
        print_json(data)
        return
    out = console()
    if created:
        for path in created:
            out.print(f"created [bold]{path}[/]")
    else:
        out.print(f"workspace {root} already exists; nothing changed")


@config_app.command("show")
def show(as_json: bool = JsonOption) -> None:
    """Print every effective setting, its value and where it came from."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.config import load_settings

    loaded = load_settings()

    def render(rows: list[dict[str, Any]]) -> None:
        console().print(f"workspace: [bold]{loaded.root}[/]")
        table(rows, ["key", "value", "source"])

    emit(loaded.rows(), as_json, render)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(config_app, name="config")
