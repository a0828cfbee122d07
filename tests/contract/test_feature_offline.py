"""Offline store contract: the same ingest/extract/training-set behaviour on local files and S3,
and the group records on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from mloop.features import (
    build_training_set,
    create_group,
    data_version,
    extract,
    flush_records,
    ingest,
    put_records,
)
from tests.support.feature_files import HEADER, events_spec, write


def _ws(tmp_path: Path, **overrides: Any) -> Any:
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    return open_workspace(root, **overrides)


def test_offline_store_contract(tmp_path: Path, artifact_root: str, request: Any) -> None:
    endpoint = request.getfixturevalue("s3_endpoint") if artifact_root.startswith("s3://") else None
    ws = _ws(tmp_path, artifact_root=artifact_root, s3_endpoint_url=endpoint)
    create_group(ws, events_spec("ev"))
    write(tmp_path / "a.csv", HEADER + "1,2024-01-01,1.0,1,red,true\n1,2024-01-03,3.0,3,red,true\n"
          "2,2024-01-02,2.0,2,blue,false\n")
    assert ingest(ws, tmp_path / "a.csv", "ev").ingested == 3
    put_records(ws, "ev", [{"uid": 2, "x": 5.0, "ts": "2024-01-04T00:00:00Z"}])
    flush_records(ws, "ev")
    assert data_version(ws, "ev") == 2
    assert extract(ws, "ev").set_index("uid")["x"].to_dict() == {1: 3.0, 2: 5.0}
    assert len(extract(ws, "ev", history=True)) == 4
    entities = pd.DataFrame({"uid": [1, 2, 2], "ts": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-05"])})
    out = build_training_set(ws, entities, ["ev:x"])
    assert out["x"].tolist() == [1.0, 2.0, 5.0]
    ws.close()


def test_groups_on_each_database(tmp_path: Path, database_url: str) -> None:
    ws = _ws(tmp_path, database_url=database_url)
    name = f"g-{uuid.uuid4().hex[:8]}"
    create_group(ws, events_spec(name))
    write(tmp_path / "a.csv", HEADER + "1,2024-01-01,1.0,1,red,true\n")
    ingest(ws, tmp_path / "a.csv", name)
    assert ingest(ws, tmp_path / "a.csv", name).skipped
    assert data_version(ws, name) == 1
    assert extract(ws, name)["uid"].tolist() == [1]
    ws.close()
