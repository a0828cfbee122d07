"""`--install-packages`: a component's `packages_to_install` in a cached virtual environment.

Without the option a missing package refuses the run (the message names the pip command);
with it, a component whose packages are not all installed here runs in a venv of its own,
keyed by its package list and this Python's version, created once under `.mloop/kfp-venvs/`
and reused by every later task and run. The venv sees this environment's packages (kfp, the
libraries already here) through a `.pth` file, so pip installs only what is missing, with
pip's own configuration (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX, pip.conf). When the index
cannot be reached the task fails with one line naming the packages and how to get them
offline; nothing half-installed is kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from mloop.pipelines.kfp_frontend.errors import KfpTaskFailed

_OFFLINE = re.compile(r"Could not find a version|No matching distribution|NewConnectionError|"
                      r"Failed to establish a new connection|Temporary failure in name resolution|"
                      r"Network is unreachable|ConnectTimeout|Max retries exceeded|"
                      r"Connection refused|Name or service not known", re.I)
INSTALL_TIMEOUT_S = 1800.0


def venv_python(state_dir: Path, packages: list[str], component: str) -> Path:
    """The interpreter of the cached venv with `packages` (created now if it is not there).

    Raises:
        KfpTaskFailed: pip could not install them (offline: the message says how to proceed).
    """
    key = hashlib.sha256("\n".join([sys.version, *sorted(packages)]).encode()).hexdigest()[:16]
    root = Path(state_dir) / "kfp-venvs"
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    python = target / "bin" / "python"
    with open(root / f"{key}.lock", "w") as lock:  # one creator per key at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists():
            return python
        staging = root / f"{key}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _create(staging, packages, component)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        staging.rename(target)
        _relink(target, staging)
    return python


def _create(staging: Path, packages: list[str], component: str) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(staging)], check=True,
                   capture_output=True, timeout=300)
    purelib = Path(subprocess.run([str(staging / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True, timeout=60).stdout.strip())
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "mloop-parent-env.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "pip", "--python", str(staging / "bin" / "python"), "install",
               "--disable-pip-version-check", "--retries", "1", "--timeout", "15", *packages]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise KfpTaskFailed(f"component '{component}': installing {', '.join(packages)} took more "
                            f"than {INSTALL_TIMEOUT_S:g} s") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        quoted = " ".join(shlex.quote(p) for p in packages)
        if _OFFLINE.search(output):
            raise KfpTaskFailed(
                f"component '{component}': cannot install packages_to_install {', '.join(packages)}: "
                f"the package index is unreachable (offline?). Install them here yourself "
                f"(pip install {quoted}) and run without --install-packages, or point pip at a "
                f"reachable index or a wheel directory (PIP_INDEX_URL, PIP_FIND_LINKS)")
        last = output.splitlines()[-1] if output else f"exit code {done.returncode}"
        raise KfpTaskFailed(f"component '{component}': pip install {quoted} failed: {last}")


def _relink(target: Path, staging: Path) -> None:
    """A venv's scripts name the directory it was created in: point them at its final place."""
    for script in (target / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            try:
                text = script.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if str(staging) in text:
                script.write_text(text.replace(str(staging), str(target)), encoding="utf-8")
    cfg = target / "pyvenv.cfg"
    if cfg.exists():
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(staging), str(target)), encoding="utf-8")
    os.utime(target)
