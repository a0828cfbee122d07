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
    """A Rich table of `rows` showing `columns` (missing values print as '-').

    A table wider than the console (80 columns when output is piped) would squeeze every column
    to a few characters; it prints as one `field  value` block per row instead.
    """
    from rich.table import Table

    cells = [["-" if row.get(c) is None else str(_default_scalar(row.get(c))) for c in columns] for row in rows]
    grid = Table(title=title, show_lines=False)
    for col in columns:
        grid.add_column(col, overflow="fold")  # wrap, never cut a value a user must read
    for values in cells:
        grid.add_row(*values)
    out = console()
    natural = sum(max([len(c), *(len(v[i]) for v in cells)]) + 3 for i, c in enumerate(columns)) + 1
    if natural <= out.width or len(columns) <= 3:
        out.print(grid)
        return
    if title:
        out.print(title, markup=False)
    width = max(len(c) for c in columns)
    for n, values in enumerate(cells):
        if n:
            out.print()
        for col, value in zip(columns, values, strict=True):
            out.print(f"{col:<{width}}  {value}", markup=False)


def _default_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def workspace() -> Workspace:
    """The workspace of the current directory (or MLOOP_WORKSPACE)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.store import open_workspace

    return open_workspace()


def print_error(message: str, hint: str | None) -> None:
    """The one error printer: a red headline and a dim hint on stderr, no traceback."""
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        err.print(f"[dim]hint:[/] {escape(hint)}")
