"""Shared CLI plumbing: the consoles, `--json` output, opening the workspace."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from mloop.store import Workspace

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return str(obj)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_default) + "\n")


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON for machines, or through `render` for people."""
    if as_json:
        print_json(data)
    else:
        render(data)


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """A Rich table of `rows` showing `columns` (missing values print as '-')."""
    from rich.table import Table

    grid = Table(title=title, show_lines=False)
    for col in columns:
        grid.add_column(col, overflow="fold")  # wrap, never cut a value a user must read
    for row in rows:
        grid.add_row(*("-" if row.get(c) is None else str(_default_scalar(row.get(c))) for c in columns))
    console().print(grid)


def _default_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def workspace() -> Workspace:
    """The workspace of the current directory (or MLOOP_WORKSPACE)."""
    from mloop.store import open_workspace

    return open_workspace()
