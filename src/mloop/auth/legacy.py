"""Moving plaintext `[auth.tokens]` out of configuration and into the database (hashed).

Older workspaces kept tokens in `mloop.toml`. The first time a workspace authenticates
anyone, those tokens are stored hashed and the table is cut out of the file (the rest of the
file, comments included, is kept); tokens given through MLOOP_AUTH__TOKENS are stored too and
the message asks to unset the variable.
"""

from __future__ import annotations

import re
import threading
import tomllib
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from mloop.auth.tokens import store_token
from mloop.errors import ConfigError
from mloop.store.files import atomic_write

if TYPE_CHECKING:
    from mloop.store import Workspace

_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_TOKENS_KEY = re.compile(r"^\s*tokens\s*[.=]")
_DONE: weakref.WeakSet[Workspace] = weakref.WeakSet()  # workspaces whose tokens are already moved
_LOCK = threading.Lock()


def import_config_tokens(ws: Workspace) -> str | None:
    """Store the workspace's configured tokens hashed; rewrite `mloop.toml` without them.

    Returns:
        A message for the user when anything moved; None when there was nothing to do.

    Raises:
        ConfigError: the file could not be rewritten (the tokens are stored; remove them by hand).
    """
    configured = ws.settings.auth.tokens
    if not configured or ws in _DONE:
        return None
    with _LOCK:
        if ws in _DONE:
            return None
        for token, spec in configured.items():
            store_token(ws, token, spec.principal, spec.role, created_by="config", note="moved from configuration")
        _DONE.add(ws)
    sources = {v for k, v in ws.loaded.sources.items() if k == "auth.tokens" or k.startswith("auth.tokens.")}
    notes = []
    if any(src == "mloop.toml" for src in sources):
        path = ws.root / "mloop.toml"
        _rewrite_without_tokens(path)
        notes.append(f"moved {len(configured)} token(s) from [auth.tokens] in {path} into the metadata "
                     "database (stored hashed) and removed them from the file")
    env = sorted(src for src in sources if src.startswith("env "))
    if env:
        notes.append(f"stored the tokens of {env[0][4:]} hashed in the metadata database; unset the variable")
    return "; ".join(notes) + "; see `mloop auth tokens list`" if notes else None


def _rewrite_without_tokens(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    kept: list[str] = []
    table, dropping = "", False
    for line in original.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            table = header.group(1).replace(" ", "").replace('"', "")
            dropping = table == "auth.tokens" or table.startswith("auth.tokens.")
            if dropping:
                if not kept or "moved into the metadata database" not in kept[-1]:
                    kept.append("# [auth.tokens] moved into the metadata database (hashed): "
                                "`mloop auth tokens list`\n")
                continue
        if dropping:
            continue
        if table == "auth" and _TOKENS_KEY.match(line):
            continue
        kept.append(line)
    text = "".join(kept)
    if tomllib.loads(text).get("auth", {}).get("tokens"):
        raise ConfigError(f"{path}: the tokens are now in the metadata database, but the file could not be "
                          "cleaned automatically", hint="Delete the tokens from the [auth] section by hand.")
    atomic_write(path, text)  # keeps the file's permissions
