"""A loaded model version as the server calls it: `ServedModel` and how a local model directory
becomes one.

An mloop model directory loads as a `TabularModel` (the fast path: raw records, no pandas). Any
other MLflow pyfunc model is served through MLflow's loader (through `mloop.tracking`), slower but
complete, with list-shaped rows mapped to the model signature's columns. Where the directory
comes from (download, verification, the local cache) is `model_cache`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop import tracking
from mloop.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from mloop.model_format import InputProfile
    from mloop.serving.endpoints.records import Variant
    from mloop.store import Workspace


class ServedModel:
    """A loaded model version: `predict(rows) -> list` plus what the metadata routes describe."""

    __slots__ = ("describe", "feature_names", "inputs", "kind", "model_uri", "name", "path", "predict", "version")

    def __init__(self, name: str, version: int, model_uri: str, predict: Callable[[list[Any]], list[Any]],
                 feature_names: list[str], describe: dict[str, Any], kind: str,
                 inputs: InputProfile | None = None) -> None:
        self.name = name
        self.version = version
        self.model_uri = model_uri
        self.predict = predict
        self.feature_names = feature_names
        self.describe = describe
        self.kind = kind
        #: what training saw of each raw input (None: a model that does not say; nothing is checked)
        self.inputs = inputs
        #: the local model directory of an mloop model (None: a model only this process can run)
        self.path: Path | None = None


Loader = Callable[["Variant"], ServedModel]


def load_served(path: Path, name: str, version: int, model_uri: str, ws: Workspace | None = None) -> ServedModel:
    """A ServedModel from a local model directory (TabularModel, else MLflow pyfunc)."""
    from mloop.model_format import load_model_dir

    try:
        model = load_model_dir(path)
    except NotFound:
        if ws is None:
            raise
        return _pyfunc(ws, name, version, model_uri, path)

    def predict(rows: list[Any]) -> list[Any]:
        return model.predict_records(rows).tolist()

    served = ServedModel(name, version, model_uri, predict, list(model.feature_names),
                         model.describe(), "mloop-tabular", model.inputs)
    served.path = path  # a worker process loads it again for very large requests (`server.bulk`)
    return served


def _pyfunc(ws: Workspace, name: str, version: int, model_uri: str, path: Path) -> ServedModel:
    loaded = tracking.load_pyfunc(ws, str(path))  # the verified local copy, not a second download
    features = _signature_columns(loaded)

    def predict(rows: list[Any]) -> list[Any]:
        import pandas as pd

        if rows and isinstance(rows[0], list):
            if features and len(rows[0]) != len(features):
                raise InvalidInput(f"row 0: {len(rows[0])} values, expected {len(features)}",
                                   hint="columns in order: " + ", ".join(features))
            frame = pd.DataFrame(rows, columns=features or None)
        else:
            frame = pd.DataFrame(rows)
        out = loaded.predict(frame)
        return out.tolist() if hasattr(out, "tolist") else list(out)

    describe = {"format": "mlflow-pyfunc", "inputs": [{"name": f} for f in features]}
    return ServedModel(name, version, model_uri, predict, features, describe, "mlflow-pyfunc")


def _signature_columns(loaded: Any) -> list[str]:
    try:
        schema = loaded.metadata.get_input_schema()
        return list(schema.input_names()) if schema is not None and schema.has_input_names() else []
    except Exception:  # noqa: BLE001 — a model without a readable signature has no input names
        return []
