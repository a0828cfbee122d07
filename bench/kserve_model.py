"""A KServe custom model server for the same saved model `mloop serve` serves (bench/serving.py).

Runs in a separate venv that has `kserve` and `xgboost` but NOT mloop (the project's pins stay
untouched): it reads the saved model directory directly — `mloop_model.json` (columns, medians,
scales, categories) and the XGBoost JSON booster — and does the same preprocessing with plain
Python + numpy, the way a user writing a KServe custom model would. This is what the issue
compares against ("a KServe custom model server"), configured for speed: XGBoost with one thread
and `inplace_predict`, gRPC and the per-request latency log line off, uvloop.

    /work/bench-venvs/kserve/bin/python bench/kserve_model.py --model_dir DIR --model_name ad-click \
        --http_port 8085 --workers 2 [--host 127.0.0.1]

V1: `POST /v1/models/{name}:predict` with `{"instances": [[...], ...]}` (lists in feature order or
objects by name) -> `{"predictions": [...]}`. V2: `POST /v2/models/{name}/infer` with one `[N, F]`
BYTES/number tensor -> one FP64 `predict` tensor. KServe binds 0.0.0.0; this script rebinds to
`--host` (loopback by default).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import kserve
import numpy as np
import xgboost as xgb
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
from kserve.protocol.rest import server as rest_server

NA = frozenset({"", "na", "nan", "null", "none", "n/a", "?"})


def bind_to(host: str) -> None:
    """KServe hard-codes host 0.0.0.0 in its uvicorn config; serve on `host` instead."""
    original = rest_server.RESTServer.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.config.host = host

    rest_server.RESTServer.__init__ = init  # type: ignore[method-assign]


class Encoder:
    """The saved model's fitted preprocessing (numeric: impute + scale; boolean; one-hot)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        prep = spec["preprocessing"]
        if prep.get("derived"):
            raise SystemExit("derived features are not reimplemented in this bench model")
        self.names = spec["feature_names"]
        self.plan = []
        offset = 0
        for c in prep["columns"]:
            index = {cat: offset + i for i, cat in enumerate(c["categories"])}
            self.plan.append((c["name"], c["kind"], offset, c["fill"], c["mean"], c["scale"], index))
            offset += len(c["categories"]) if c["kind"] == "categorical" else 1
        self.width = offset

    def encode(self, rows: list[Any]) -> np.ndarray:
        out = np.zeros((len(rows), self.width), dtype=np.float64)
        for r, row in enumerate(rows):
            values = [row.get(n) for n in self.names] if isinstance(row, dict) else row
            if len(values) != len(self.plan):
                raise kserve.errors.InvalidInput(f"row {r}: {len(values)} values, expected {len(self.plan)}")
            for (name, kind, offset, fill, mean, scale, index), value in zip(self.plan, values, strict=True):
                if kind == "numeric":
                    out[r, offset] = (_number(value, fill, name) - mean) / scale
                elif kind == "boolean":
                    out[r, offset] = fill if _missing(value) else float(str(value).lower() in {"true", "1", "yes"})
                else:
                    slot = index.get(fill if _missing(value) else str(value))
                    if slot is not None:
                        out[r, slot] = 1.0
        return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (
        isinstance(value, str) and value.strip().lower() in NA)


def _number(value: Any, fill: float, name: str) -> float:
    if _missing(value):
        return float(fill)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise kserve.errors.InvalidInput(f"column '{name}' expects a number, got {value!r}") from None
    if math.isinf(result):
        raise kserve.errors.InvalidInput(f"column '{name}' is infinite")
    return result


def _spec_dir(path: Path) -> Path:
    """The saved model dir itself, or the one an MLflow model dir wraps (artifacts/model_dir)."""
    for candidate in (path, path / "artifacts" / "model_dir", *sorted(path.glob("**/mloop_model.json"))):
        directory = candidate.parent if candidate.name == "mloop_model.json" else candidate
        if (directory / "mloop_model.json").is_file():
            return directory
    raise SystemExit(f"no mloop_model.json under {path}")


class TabularXGBModel(kserve.Model):
    """KServe custom model: raw records -> fitted preprocessing -> XGBoost probability."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = _spec_dir(Path(model_dir))
        self.encoder: Encoder | None = None
        self.booster: Any = None
        self.load()

    def load(self) -> bool:
        spec = json.loads((self.model_dir / "mloop_model.json").read_text())
        if spec.get("estimator") != "xgboost":
            raise SystemExit(f"estimator {spec.get('estimator')!r}: this bench model serves XGBoost only")
        self.encoder = Encoder(spec)
        self.booster = xgb.Booster()
        self.booster.load_model(str(self.model_dir / spec["estimator_file"]))
        self.booster.set_param({"nthread": 1})
        self.ready = True
        return self.ready

    def predict(self, payload: dict[str, Any] | InferRequest,
                headers: dict[str, str] | None = None) -> dict[str, Any] | InferResponse:
        assert self.encoder is not None
        if isinstance(payload, InferRequest):
            rows = payload.inputs[0].as_numpy().tolist()
            rows = [[v.decode() if isinstance(v, bytes) else v for v in row] for row in rows]
            scores = self.booster.inplace_predict(self.encoder.encode(rows), validate_features=False)
            out = InferOutput(name="predict", shape=list(scores.shape), datatype="FP64",
                              data=scores.astype(np.float64).tolist())
            return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id)
        instances = payload.get("instances") if isinstance(payload, dict) else None
        if not isinstance(instances, list) or not instances:
            raise kserve.errors.InvalidInput('expected {"instances": [...]} with at least one row')
        scores = self.booster.inplace_predict(self.encoder.encode(instances), validate_features=False)
        return {"predictions": scores.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser], description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a saved model directory (mloop_model.json + booster)")
    parser.add_argument("--host", default="127.0.0.1")
    args, _ = parser.parse_known_args()
    bind_to(args.host)
    model = TabularXGBModel(args.model_name, args.model_dir)
    kserve.ModelServer(http_port=args.http_port, workers=args.workers, enable_grpc=False,
                       enable_latency_logging=False).start([model])


if __name__ == "__main__":
    main()
