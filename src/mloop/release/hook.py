"""The git post-commit hook: every commit starts a release in the background.

The hook must never slow down or break a commit, so it backgrounds `mloop release start --detach`
(which checks the source, records the release and spawns its driver) and always exits 0; what
happened goes to `.mloop/releases/hook.log`, each release's own log to `.mloop/releases/ID.log`.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mloop.errors import Conflict, InvalidInput
from mloop.release.source import _out
from mloop.store.files import atomic_write

if TYPE_CHECKING:
    from mloop.store import Workspace

MARKER = "# mloop release hook"

_SCRIPT = """#!/bin/sh
{marker} (installed by `mloop release install-hook`; delete this file to stop releasing on commit)
# Starts a release of the commit just made, in the background; the log is {log}.
WS={ws}
mkdir -p "$WS/.mloop/releases"
SHA=$(git rev-parse HEAD)
(
  cd "$WS" && MLOOP_WORKSPACE="$WS" nohup {python} -m mloop release start --commit "$SHA" --detach{extra} \\
    >> "$WS/.mloop/releases/hook.log" 2>&1 &
)
exit 0
"""


def hook_path(root: Path) -> Path:
    """Where git looks for the post-commit hook of the repository holding `root`.

    Raises:
        InvalidInput: `root` is not inside a git repository.
    """
    found = _out(root, "rev-parse", "--git-path", "hooks/post-commit")
    if found is None:
        raise InvalidInput(f"{root} is not inside a git repository", hint="Run `git init` first.")
    path = Path(found)
    return path if path.is_absolute() else (root / path).resolve()


def install_hook(ws: Workspace, *, allow_dirty: bool = False, force: bool = False) -> Path:
    """Install (or update) the post-commit hook that starts a release on every commit.

    Args:
        ws: the workspace (inside a git working tree).
        allow_dirty: the hook passes `--allow-dirty` (release even with other uncommitted edits).
        force: replace a post-commit hook that mloop did not write.

    Returns:
        The hook's path.

    Raises:
        InvalidInput: not a git repository.
        Conflict: another post-commit hook exists and `force` is not set.
    """
    path = hook_path(ws.root)
    if path.exists() and MARKER not in path.read_text(errors="replace") and not force:
        raise Conflict(
            f"{path} already exists and was not written by mloop",
            hint="Merge it by hand, or pass --force to replace it.",
        )
    log = ws.root / ".mloop" / "releases" / "hook.log"
    script = _SCRIPT.format(
        marker=MARKER, log=log, ws=shlex.quote(str(ws.root)), python=shlex.quote(sys.executable),
        extra=" --allow-dirty" if allow_dirty else "",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, script, mode=0o755)
    return path
