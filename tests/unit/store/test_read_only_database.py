"""A metadata database on a read-only folder is a clear error naming the fix, not an OSError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mloop.errors import StoreAccessDenied
from tests.support.readonly import ReadOnly


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[ReadOnly]:
    folder = ReadOnly(tmp_path / "meta")
    yield folder
    folder.close()


def test_writes_to_a_read_only_database_name_the_fix(tmp_path: Path, read_only: ReadOnly) -> None:
    from mloop.config import init_workspace
    from mloop.store import open_workspace, outbox

    init_workspace(tmp_path / "ws")
    url = f"sqlite:///{read_only.path / 'mloop.db'}"
    ws = open_workspace(tmp_path / "ws", database_url=url)
    assert outbox.pending(ws) == []  # created and migrated while writable
    ws.close()
    read_only.lock()
    ws = open_workspace(tmp_path / "ws", database_url=url)
    with pytest.raises(StoreAccessDenied) as err:
        outbox.add(ws, "t", "s", {})
    assert str(read_only.path / "mloop.db") in err.value.message
    assert "writable" in (err.value.hint or "")
    ws.close()
