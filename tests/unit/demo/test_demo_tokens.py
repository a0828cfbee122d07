"""The demo's tokens: issued like any token (hashed in the database), kept out of mloop.toml and git."""

from __future__ import annotations

import stat
from typing import Any

from mloop.auth import authenticate
from mloop.demo import TOKENS_FILE, _demo_tokens


def test_demo_tokens_live_in_the_database_and_a_private_file(workspace: Any) -> None:
    tokens = _demo_tokens(workspace)
    assert sorted(tokens) == ["admin", "approver", "deployer", "viewer"]
    assert {authenticate(workspace, t).name for t in tokens.values()} == {
        "demo-viewer", "demo-approver", "demo-deployer", "demo-admin"}
    path = workspace.state_dir / TOKENS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (workspace.state_dir / ".gitignore").read_text() == "*\n"  # .mloop/ never reaches git
    config = (workspace.root / "mloop.toml").read_text()
    assert not any(token in config for token in tokens.values())
    assert all(token in path.read_text() for token in tokens.values())
