"""The Source stage's facts: which commit of which branch, and whether the tree was clean.

A release must be traceable to the code that trained it, so a dirty working tree is refused
unless the caller says `--allow-dirty` (the release then records `dirty: true` and the changes).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mloop.errors import ConfigError, InvalidInput


class DirtyTree(InvalidInput):
    """The project has uncommitted changes: a release builds only committed code."""

    code = "release_dirty_tree"


@dataclass
class SourceInfo:
    """Where a release's code came from."""

    repo: str
    commit: str
    branch: str
    dirty: bool
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("git")
    if exe is None:
        raise ConfigError("git is not installed", hint="Install git: releases record the commit they build.")
    return subprocess.run([exe, "-C", str(root), *args], capture_output=True, text=True, timeout=30)


def _out(root: Path, *args: str) -> str | None:
    result = _git(root, *args)
    return result.stdout.strip() if result.returncode == 0 else None


def inspect_source(root: Path, commit: str | None = None) -> SourceInfo:
    """The git facts of the working tree holding `root`.

    Args:
        root: the workspace directory (inside a git working tree).
        commit: the commit the caller expects to be checked out (a SHA or ref); HEAD when None.

    Raises:
        InvalidInput: not a git repository, no commit yet, or `commit` is not what is checked out.
    """
    repo = _out(root, "rev-parse", "--show-toplevel")
    if repo is None:
        raise InvalidInput(
            f"{root} is not inside a git repository",
            hint="Run `git init` and commit your project: a release records the commit it was built from.",
        )
    head = _out(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head is None:
        raise InvalidInput(f"the git repository {repo} has no commit yet", hint="Commit your project first.")
    if commit is not None:
        wanted = _out(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
        if wanted is None:
            raise InvalidInput(f"commit '{commit}' does not exist in {repo}", hint="Pass a SHA from `git log`.")
        if wanted != head:
            raise InvalidInput(
                f"commit {wanted[:12]} is not checked out (HEAD is {head[:12]})",
                hint=f"Check it out first (`git checkout {wanted[:12]}`) or omit --commit to release HEAD.",
            )
    branch = _out(root, "symbolic-ref", "--quiet", "--short", "HEAD") or "(detached)"
    listed = _git(root, "status", "--porcelain", "--untracked-files=normal")
    # Not stripped: every line is "XY path" and X is a space for a modified, unstaged file.
    status = listed.stdout if listed.returncode == 0 else ""
    changes = [line[3:] for line in status.splitlines() if line.strip()]
    return SourceInfo(repo=repo, commit=head, branch=branch, dirty=bool(changes), changes=changes)


def check_clean(info: SourceInfo, allow_dirty: bool) -> None:
    """Refuse a dirty tree unless allowed.

    Raises:
        DirtyTree: uncommitted changes and not `allow_dirty`.
    """
    if info.dirty and not allow_dirty:
        shown = ", ".join(info.changes[:5]) + (f" and {len(info.changes) - 5} more" if len(info.changes) > 5 else "")
        raise DirtyTree(
            f"the working tree has uncommitted changes ({shown}); a release must match a commit",
            hint="Commit or stash them, or pass --allow-dirty to release anyway (recorded as dirty).",
        )
