"""Fixtures for release tests: a workspace inside a real git repository, `[release]` configured;
stage functions that only count their calls (`fake_stages`).

tests/conftest.py registers these fixtures for every test (`pytest_plugins`).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mloop.release import StageContext

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


def fake_stages(calls: Counter[str], **override: Any) -> dict[str, Any]:
    """The five release stages as functions that only count their calls; `override` replaces some."""
    def source(ctx: StageContext) -> dict[str, Any]:
        calls["Source"] += 1
        return {"commit": ctx.options["source"]["commit"], "branch": "main", "pipeline_hash": "abc"}

    def train(ctx: StageContext) -> dict[str, Any]:
        calls["TrainRegister"] += 1
        return {"run_id": "run-1", "model_version": 7}

    def approval(ctx: StageContext) -> dict[str, Any]:
        calls["Approval"] += 1
        return {"status": "Approved", "approved_by": "ann"}

    def deploy(ctx: StageContext) -> dict[str, Any]:
        calls["Deploy"] += 1
        return {"version": ctx.outputs("TrainRegister")["model_version"]}

    def verify(ctx: StageContext) -> dict[str, Any]:
        calls["Verify"] += 1
        return {"answered_by": 7}

    impl = {"Source": source, "TrainRegister": train, "Approval": approval, "Deploy": deploy, "Verify": verify}
    return {**impl, **override}
