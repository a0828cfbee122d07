"""Fixtures for release tests: a workspace inside a real git repository, `[release]` configured.

Import the fixtures into a conftest or test module: `from tests.support.release_repo import repo`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

RELEASE_TOML = """
[release]
pipeline = "ad-click-ctr"
model = "ctr-model"
endpoint = "ctr"
poll_interval = 0.05
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "Tester")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "tester@example.com")


@pytest.fixture
def repo(tmp_path: Path, git_env: None) -> Path:
    """A git repository whose root is an mloop workspace with [release] set, one commit."""
    from mloop.config import init_workspace

    root = tmp_path / "project"
    init_workspace(root)
    (root / "mloop.toml").write_text((root / "mloop.toml").read_text() + RELEASE_TOML)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "mloop.toml")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def release_ws(repo: Path) -> Iterator[object]:
    from mloop.store import open_workspace

    ws = open_workspace(repo)
    yield ws
    ws.close()
