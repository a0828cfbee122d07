"""The inference app's logging on every metadata x online-store backend (SQLite/PostgreSQL x
SQLite/Redis): predictions logged, feedback once, values come back typed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from mloop.config import AppSettings
from mloop.web.inference import create_inference_app
from tests.support.inference_app import RECORD, DownSwitch


def test_logging_and_feedback_on_each_backend(workspace_dir: Path, database_url: str, online_store_url: str) -> None:
    from mloop.features import extract
    from mloop.store import open_workspace

    suffix = uuid.uuid4().hex[:8]  # the PostgreSQL database is shared within the session
    settings = AppSettings(endpoint="http://model.test", interactions_group=f"ix-{suffix}",
                           feedback_group=f"fb-{suffix}")
    ws = open_workspace(workspace_dir, database_url=database_url, online_store_url=online_store_url)
    try:
        app = create_inference_app(ws, settings=settings, transport=DownSwitch({}))
        with TestClient(app) as client:
            rid = client.post("/api/predict", json=RECORD).json()["request_id"]
            no = client.post("/api/feedback", json={"request_id": rid, "clicked": False})
            assert no.status_code == 200, no.text
            again: Any = client.post("/api/feedback", json={"request_id": rid, "clicked": True})
            assert again.status_code == 409 and "clicked=False" in again.json()["message"]
            assert client.post("/api/feedback", json={"request_id": "x" + rid, "clicked": True}).status_code == 404
        interactions = extract(ws, settings.interactions_group)
        assert list(interactions["request_id"]) == [rid]
        assert int(interactions["model_version"].iloc[0]) == 3
        feedback = extract(ws, settings.feedback_group)
        assert list(feedback["clicked"]) == [0]
    finally:
        ws.close()
