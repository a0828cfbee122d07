"""Open Inference V2 metadata lists exactly what `/infer` takes, for each reference model.

A client that builds its request from `GET /v2/models/{name}` (as KServe's and Triton's clients
do) must get a 200: the inputs are the raw features (not derived ones such as `bedroom_ratio`),
with datatypes `/infer` accepts for them. The models come from the reference pipelines
themselves, so whatever features those pipelines choose, the metadata follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mloop.pipelines import load_artifact, run_pipeline

pytestmark = pytest.mark.slow

AD_PARAMS = {"n_estimators": 10, "max_depth": 3, "auc_threshold": 0.99}  # registering is not the point
HOUSING_PARAMS = {"data_source": "synthetic:1500", "n_estimators": 5, "max_depth": 6, "r2_threshold": 0.99}


def _ad_clicks(ws: Any) -> None:
    from mloop.features import create_group, ingest
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    create_group(ws, ad_clicks_spec("ad-clicks"))
    path = ws.root / "ad-clicks.csv"
    ad_clicks(1500, seed=1).to_csv(path, index=False)
    ingest(ws, path, "ad-clicks")


def _server(ws: Any, pipeline: str, params: dict[str, Any], tmp: Path) -> tuple[TestClient, Any]:
    from mloop.serving.runtime.live import static_endpoint
    from mloop.serving.runtime.served_model import load_served
    from mloop.serving.server.app import create_app

    record = run_pipeline(ws, pipeline, params)
    assert record.step("train").status == "Succeeded", record.error
    model = load_artifact(ws, record.id, "train", "model")
    path = model.save(tmp / pipeline)
    served = load_served(path, pipeline, 1, f"file://{path}")
    return TestClient(create_app(None, pipeline, live=static_endpoint(pipeline, served, "warn"))), model


def _value(meta: dict[str, Any], example: Any) -> Any:
    """A training row's value in the datatype the metadata names (a client's conversion)."""
    if example is None or example != example:
        return None if meta["datatype"] == "BYTES" else 0.0
    return {"FP64": float, "BYTES": str, "BOOL": bool}[meta["datatype"]](example)


@pytest.mark.parametrize("pipeline", ["ad-click-ctr", "housing"])
def test_a_request_built_from_v2_metadata_is_answered(ml_workspace: Any, tmp_path: Path, pipeline: str) -> None:
    from mloop.recipes.datasets.housing import housing

    ws = ml_workspace
    if pipeline == "ad-click-ctr":
        _ad_clicks(ws)
    client, model = _server(ws, pipeline, AD_PARAMS if pipeline == "ad-click-ctr" else HOUSING_PARAMS, tmp_path)
    with client:
        meta = client.get(f"/v2/models/{pipeline}").json()
        names = [i["name"] for i in meta["inputs"]]
        assert names == model.feature_names  # the raw inputs, in the order an [N, F] tensor follows
        assert not {d["name"] for d in model.preprocessor.derived} & set(names)
        if pipeline == "housing":
            assert "bedroom_ratio" not in names and {i["datatype"] for i in meta["inputs"]} == {"FP64"}
        rows = (housing(3, seed=7) if pipeline == "housing" else _complete_ad_rows(3))[names]
        body = {"inputs": [{"name": i["name"], "datatype": i["datatype"], "shape": [len(rows)],
                            "data": [_value(i, v) for v in rows[i["name"]].tolist()]} for i in meta["inputs"]]}
        res = client.post(f"/v2/models/{pipeline}/infer", json=body)
        assert res.status_code == 200, res.text
        assert res.json()["outputs"][0]["shape"] == [3]


def _complete_ad_rows(n: int) -> Any:
    from mloop.recipes.datasets.ad_clicks import ad_clicks

    frame = ad_clicks(200, seed=9)
    return frame.dropna().head(n).astype(object)
