"""What a new user sees from `mloop release` when something is off: one line and a hint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import clean_env
from tests.support.release_repo import git


def mloop(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = clean_env() | env
    return subprocess.run([sys.executable, "-m", "mloop", *args], cwd=root, env=full,
                          capture_output=True, text=True, timeout=60)


def test_dirty_tree_and_missing_endpoint_are_clear(repo: Path) -> None:
    (repo / "notes.txt").write_text("wip\n")
    dirty = mloop(repo, "release", "start")
    assert dirty.returncode == 1 and "Traceback" not in dirty.stderr
    assert "uncommitted changes (notes.txt)" in dirty.stderr and "--allow-dirty" in dirty.stderr
    none = mloop(repo, "release", "start", "--allow-dirty", MLOOP_RELEASE__ENDPOINT="")
    assert none.returncode == 1
    assert none.stderr.startswith("error: no endpoint configured for releases")
    assert "MLOOP_RELEASE__ENDPOINT" in none.stderr
    listed = mloop(repo, "release", "list", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"  # refusals leave no records


def test_install_hook_writes_an_executable_hook_and_keeps_foreign_ones(release_ws: object, repo: Path) -> None:
    from mloop.errors import Conflict
    from mloop.release import install_hook

    path = install_hook(release_ws, allow_dirty=True)  # type: ignore[arg-type]
    assert path == repo / ".git" / "hooks" / "post-commit" and os.access(path, os.X_OK)
    text = path.read_text()
    assert "release start --commit \"$SHA\" --detach --allow-dirty" in text and "exit 0" in text
    assert install_hook(release_ws) == path  # type: ignore[arg-type]  # ours: updated in place
    path.write_text("#!/bin/sh\necho mine\n")
    try:
        install_hook(release_ws)  # type: ignore[arg-type]
        raise AssertionError("a foreign hook was replaced")
    except Conflict as exc:
        assert "--force" in (exc.hint or "")
    assert install_hook(release_ws, force=True) == path  # type: ignore[arg-type]
    assert git(repo, "status", "--porcelain") == ""  # hooks live outside the tree
