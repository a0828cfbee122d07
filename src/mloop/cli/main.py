"""The `mloop` command. A thin shell: parsing and printing here, logic in the library.

Importing this module must stay cheap (`mloop --help` answers in well under a second): command
modules import heavy libraries inside their functions.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from mloop import __version__
from mloop.cli._output import print_error
from mloop.errors import MloopError

# Command modules, in help order; each exposes `register(app)`.
COMMAND_MODULES = [
    "mloop.cli.init",
    "mloop.cli.demo",
    "mloop.cli.features",
    "mloop.cli.run",
    "mloop.cli.runs",
    "mloop.cli.step",
    "mloop.cli.webapp",
    "mloop.cli.monitor",
    "mloop.cli.models",
    "mloop.cli.endpoints",
    "mloop.cli.serve",
    "mloop.cli.experiments",
    "mloop.cli.alerts",
    "mloop.cli.server",
    "mloop.cli.lineage",
    "mloop.cli.release",
    "mloop.cli.destroy",
    "mloop.cli.auth",
]

app = typer.Typer(
    name="mloop",
    help="mloop: the whole MLOps loop on a laptop (features, pipelines, registry, endpoints, lineage).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    if debug:
        os.environ["MLOOP_DEBUG"] = "1"


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: run the app; print errors as a headline and a hint, exit 1."""
    debug = "--debug" in sys.argv[1:] or bool(os.environ.get("MLOOP_DEBUG"))

    try:
        app(prog_name="mloop")
    except MloopError as exc:
        if debug:
            raise
        print_error(exc.message, exc.hint)
        sys.exit(1)
    except KeyboardInterrupt:
        print_error("interrupted", None)
        sys.exit(130)
    except OSError as exc:
        if debug or not exc.filename:
            raise
        # A path the user gave (-o, --out, --dir...) that cannot be written or read: say which and why.
        target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else str(exc.filename)
        print_error(f"cannot use {target}: {exc.strerror or exc}",
                     "Check the path: its directory must exist and be writable (or the file readable).")
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        print_error(f"unexpected error: {type(exc).__name__}: {exc}", "Re-run with --debug for the traceback.")
        sys.exit(1)
