"""The `mloop` CLI as a user runs it: a fresh process, without the caller's MLOOP_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MLOOP = [sys.executable, "-m", "mloop"]
VENV_BIN = str(Path(sys.executable).parent)


def clean_env() -> dict[str, str]:
    """This process's environment without any MLOOP_* variable (settings, principal, test servers)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_")}


def cli_env(root: Path) -> dict[str, str]:
    """`clean_env` for the workspace at `root` as principal `tester`, the venv's scripts on PATH."""
    env = clean_env()
    env.update(PATH=f"{VENV_BIN}:{env.get('PATH', '')}", MLOOP_WORKSPACE=str(root), MLOOP_PRINCIPAL="tester")
    return env


def run_mloop(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`mloop ARGS` in `cwd` with `clean_env` plus `env`; output captured as text."""
    return subprocess.run(MLOOP + args, cwd=cwd, env=clean_env() | env, capture_output=True, text=True, timeout=120)
