"""The demo: a sequence of named chapters, each showing one capability on a real workspace.

Each chapter is a module here with `TITLE` and `run(ctx)`; chapters share what they made
through `ctx.state` (the model a pipeline registered, the port of a server...). Later chapters
may rely on earlier ones, so `--chapter X` also runs the chapters X needs (`NEEDS`).
"""

from __future__ import annotations

import importlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.auth import create_token
from mloop.config import init_workspace
from mloop.errors import InvalidInput, did_you_mean
from mloop.store import open_workspace

if TYPE_CHECKING:
    from rich.console import Console

    from mloop.store import Workspace

# (name, module) in the order they run.
CHAPTERS: list[tuple[str, str]] = [
    ("workspace", "mloop.demo.workspace"),
    ("features", "mloop.demo.features"),
    ("registry", "mloop.demo.registry"),
    ("pipelines", "mloop.demo.pipelines"),
    ("kfp", "mloop.demo.kfp"),
    ("serving", "mloop.demo.serving"),
    ("lineage", "mloop.demo.lineage"),
    ("app", "mloop.demo.app"),
    ("monitoring", "mloop.demo.monitoring"),
    ("experiments", "mloop.demo.experiments"),
    ("release", "mloop.demo.release"),
    ("dashboard", "mloop.demo.dashboard"),
]


@dataclass
class DemoContext:
    """What chapters share: the workspace, a console, and named results of earlier chapters."""

    workspace: Workspace
    console: Console
    quiet: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Any] = field(default_factory=list)

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"  {message}")

    def did(self, what: str, where: str | None = None) -> None:
        """Report one thing the demo did, and where it lives."""
        if not self.quiet:
            tail = f" [dim]→ {where}[/]" if where else ""
            self.console.print(f"  [green]✓[/] {what}{tail}")


def _select(only: list[str] | None) -> list[tuple[str, str]]:
    if not only:
        return CHAPTERS

    names = [name for name, _ in CHAPTERS]
    for name in only:
        if name not in names:
            raise InvalidInput(f"unknown demo chapter '{name}'", hint=did_you_mean(name, names))
    wanted: set[str] = set()
    for name in only:
        module = importlib.import_module(dict(CHAPTERS)[name])
        wanted.add(name)
        wanted.update(getattr(module, "NEEDS", ()))
    return [(n, m) for n, m in CHAPTERS if n in wanted]


def run_demo(
    directory: Path | None = None, only: list[str] | None = None, quiet: bool = False
) -> dict[str, Any]:
    """Run the chapters in a fresh workspace and return a summary of what they did.

    Args:
        directory: the workspace directory (created); a new temporary directory when None.
        only: chapter names to run (plus the chapters they need); all when None.
        quiet: print nothing (for `--json`).

    Returns:
        `{"workspace": path, "chapters": [{name, title, seconds}], "state": {...}}`.
    """
    from rich.console import Console

    chapters = _select(only)
    if directory is not None and Path(directory).is_dir() and any(Path(directory).iterdir()):
        raise InvalidInput(f"{directory} is not empty; the demo makes its own workspace in a fresh directory",
                           hint="Pick a new --dir (it is created), or leave --dir out for a temporary one.")
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="mloop-demo-"))
    init_workspace(root)
    console = Console(highlight=False, soft_wrap=True)
    ctx = DemoContext(workspace=open_workspace(root), console=console, quiet=quiet)
    ctx.state["tokens"] = _demo_tokens(ctx.workspace)
    done: list[dict[str, Any]] = []
    try:
        for index, (name, module_name) in enumerate(chapters, start=1):
            module = importlib.import_module(module_name)
            if not quiet:
                console.rule(f"[bold]Chapter {index}/{len(chapters)} · {module.TITLE}[/]")
            started = time.perf_counter()
            module.run(ctx)
            done.append({"name": name, "title": module.TITLE,
                         "seconds": round(time.perf_counter() - started, 2)})
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
        ctx.workspace.close()
    if not quiet:
        console.rule("[bold]Demo finished[/]")
        console.print(f"workspace: [bold]{root}[/]  (cd there and try `mloop config show`)")
        console.print(f"dashboard: `mloop server` there, log in with a token from {root / '.mloop' / TOKENS_FILE}")
        for chapter in done:
            console.print(f"  {chapter['name']:<14} {chapter['seconds']:>7.2f} s  {chapter['title']}")
    return {"workspace": str(root), "chapters": done, "state": _jsonable(ctx.state)}


TOKENS_FILE = "demo-tokens.txt"


def _demo_tokens(ws: Any) -> dict[str, str]:
    """One access token per role for the demo's servers: issued like any token (stored hashed in
    the metadata database) and written only to `.mloop/demo-tokens.txt` (0600; `.mloop/` is
    ignored by git), so neither `mloop.toml` nor the demo's output holds one."""
    import os

    tokens = {role: create_token(ws, f"demo-{role}", role, created_by="demo", note="mloop demo")[0]
              for role in ("viewer", "approver", "deployer", "admin")}
    path = ws.state_dir / TOKENS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# mloop demo tokens (role principal token); log in to the dashboard with one.\n")
        fh.writelines(f"{role} demo-{role} {token}\n" for role, token in tokens.items())
    return tokens


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items()
            if k != "tokens" and isinstance(v, str | int | float | bool | list | dict)}
