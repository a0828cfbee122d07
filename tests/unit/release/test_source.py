"""inspect_source on a real git repository: the dirty-tree report names the files exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mloop.release.source import inspect_source


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=qa@example.com", "-c", "user.name=qa", *args],
                   check=True, capture_output=True)


def test_changes_name_modified_staged_and_untracked_files(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    for name in ("mloop.toml", "train.py"):
        (tmp_path / name).write_text("x = 1\n")
    _git(tmp_path, "add", "mloop.toml", "train.py")
    _git(tmp_path, "commit", "-qm", "init")
    assert inspect_source(tmp_path).dirty is False
    (tmp_path / "mloop.toml").write_text("x = 2\n")  # " M mloop.toml": the first line starts with a space
    (tmp_path / "train.py").write_text("x = 3\n")
    _git(tmp_path, "add", "train.py")  # "M  train.py"
    (tmp_path / "notes.txt").write_text("new\n")  # "?? notes.txt"
    info = inspect_source(tmp_path)
    assert info.dirty is True
    assert sorted(info.changes) == ["mloop.toml", "notes.txt", "train.py"]
