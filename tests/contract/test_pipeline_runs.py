"""Pipeline runs on every metadata backend (SQLite, PostgreSQL) and artifact backend (local, S3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mloop.config import init_workspace
from mloop.pipelines import get_run, list_runs, retry_run, run_pipeline
from mloop.store import open_workspace
from tests.support import example_pipeline as ex


def test_run_cache_and_retry(tmp_path: Path, database_url: str, artifact_root: str, request: Any) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    s3 = request.getfixturevalue("s3_endpoint") if artifact_root.startswith("s3://") else None
    ws = open_workspace(root, database_url=database_url, artifact_root=artifact_root,
                        s3_endpoint_url=s3)
    try:
        first = run_pipeline(ws, ex.example, {"n": 24}, tracking=False)
        assert first.status == "Succeeded", first.error
        again = run_pipeline(ws, ex.example, {"n": 24}, tracking=False)
        assert again.step("train").status == "Cached"
        assert again.step("split").outputs["train"]["uri"].startswith(
            "s3://" if s3 else "file://")
        marker = tmp_path / "fixed"
        failed = run_pipeline(ws, ex.fail_then_fix, {"marker": str(marker)}, tracking=False)
        marker.write_text("ok")
        done = retry_run(ws, failed.id, tracking=False)
        assert done.status == "Succeeded" and get_run(ws, done.id).origin_run_id == failed.id
        assert {r["id"] for r in list_runs(ws, limit=10)} >= {first.id, again.id, done.id}
    finally:
        ws.close()
