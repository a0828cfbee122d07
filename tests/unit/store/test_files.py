"""`atomic_write`: the whole new content or the old file, never a part, and no temp file left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mloop.store import files
from mloop.store.files import atomic_write


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_is_written_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.txt", "Zoë\n")
    atomic_write(str(tmp_path / "b.bin"), b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "Zoë\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_own(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new", "x")
        assert _mode(tmp_path / "new") == 0o644
        secret = tmp_path / "secret"
        secret.write_text("old")
        secret.chmod(0o600)
        atomic_write(secret, "new")
        assert secret.read_text() == "new" and _mode(secret) == 0o600
    finally:
        os.umask(umask)


def test_mode_sets_the_permissions(tmp_path: Path) -> None:
    atomic_write(tmp_path / "hook", "#!/bin/sh\n", mode=0o755)
    assert _mode(tmp_path / "hook") == 0o755


def test_a_failed_replace_leaves_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "out", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        atomic_write(tmp_path / "no" / "file", "x")
    assert str(tmp_path / "no") in str(err.value.filename)
