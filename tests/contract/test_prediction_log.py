"""The prediction log on every metadata backend: rows written by a server's fast path read back
exactly (aware times, booleans, missing values, unicode), by endpoint and time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mloop.serving import read_log
from mloop.serving.endpoints.prediction_log import append, dropped


@pytest.fixture
def ws(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    init_workspace(tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws", database_url=database_url)
    yield workspace
    workspace.close()


def test_log_rows_read_back_as_written(ws: Any) -> None:
    endpoint = f"ep-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=123456)
    rows = [
        {"at": now, "request_id": "Zoë's request", "row": 0, "variant": "production", "model_name": "ctr",
         "model_version": 1, "shadow": False, "task": "classification", "prediction": 0.25, "error": None,
         "latency_ms": 0.5},
        {"at": now, "request_id": "Zoë's request", "row": 0, "variant": "shadow", "model_name": "ctr",
         "model_version": 2, "shadow": True, "task": None, "prediction": None, "error": "RuntimeError: boom",
         "latency_ms": 1.5},
    ]
    append(ws, endpoint, [{**r, "at": now - timedelta(hours=2)} for r in rows], {"shadow": 3})
    append(ws, endpoint, rows, {"shadow": 4})
    append(ws, "another-endpoint", rows, {})
    recent = read_log(ws, endpoint, since=now - timedelta(minutes=1))
    assert [{k: r[k] for k in rows[0] if k != "at"} for r in recent] == [
        {k: v for k, v in r.items() if k != "at"} for r in rows]
    assert all(r["at"].replace(tzinfo=UTC) == now for r in recent)
    assert isinstance(recent[0]["shadow"], bool) and recent[1]["shadow"] is True
    assert len(read_log(ws, endpoint)) == 4
    assert dropped(ws, endpoint) == {"shadow": 7}
    assert dropped(ws, endpoint, since=now - timedelta(minutes=1)) == {"shadow": 4}
