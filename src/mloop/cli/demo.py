"""`mloop demo`: the whole loop, chapter by chapter, in a fresh workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from mloop.cli._output import JsonOption, print_json


def demo(
    directory: Path | None = typer.Option(
        None, "--dir", help="Workspace directory (default: a fresh temporary directory)."
    ),
    only: list[str] = typer.Option(
        [], "--chapter", help="Run only these chapters (and what they need) by name."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Run the showcase: every capability of mloop, end to end, with what it did and where."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.demo import run_demo

    summary = run_demo(directory, only=only or None, quiet=as_json)
    if as_json:
        print_json(summary)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
