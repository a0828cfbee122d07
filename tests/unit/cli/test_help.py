"""Every command's `--help` is readable: it runs, says what the command does, documents every
option and argument, and shows defaults as values (never `<object at 0x...>` reprs or ANSI
colour codes in a pipe)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mloop.cli.main import app

REPR = re.compile(r"<[\w.]+ object at 0x|<function |<bound method |<class '|<[A-Z]\w*\.\w+: |0x[0-9a-f]{6,}")
ANSI = re.compile(r"\x1b\[")


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, cmd
        if hasattr(cmd, "list_commands"):
            ctx = typer.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if not getattr(sub, "hidden", False):
                    yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


COMMANDS = list(_commands())


def test_the_walk_reaches_nested_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "runs show", "models approve", "features create", "release resume", "auth tokens create"} <= names
    assert len(names) > 60


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "mloop" for p, _ in COMMANDS])
def test_help_runs_and_documents_everything(path: list[str], cmd: Any) -> None:
    shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERM": "xterm-256color"})
    assert shown.exit_code == 0, shown.output
    assert (cmd.help or "").strip(), f"`mloop {' '.join(path)}` has no description"
    assert cmd.help.strip()[:30] in shown.output
    assert not REPR.search(shown.output), shown.output
    assert not ANSI.search(shown.output), shown.output
    undocumented = [p.name for p in cmd.params if not getattr(p, "hidden", False) and not (p.help or "").strip()]
    assert undocumented == [], f"`mloop {' '.join(path)}`: no help for {undocumented}"


@pytest.mark.parametrize("args", [["--help"], ["server", "--help"], ["runs", "retry", "--help"]])
def test_help_in_a_pipe_is_plain_text(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOOP_", "FORCE_COLOR", "NO_COLOR"))}
    env.update(TERM="xterm-256color", COLUMNS="120")
    done = subprocess.run([sys.executable, "-m", "mloop", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() and not ANSI.search(done.stdout) and not REPR.search(done.stdout)
