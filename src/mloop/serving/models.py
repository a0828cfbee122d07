"""Loading registered model versions for serving.

A model version is downloaded once into `.mloop/serving/models/<digest of its URI>/` (a temp dir
renamed into place, so a crash never leaves half a model) and loaded as a `TabularModel` (the fast
path: raw records, no pandas). Any other MLflow pyfunc model is served through MLflow's loader,
slower but complete (loaded through `mloop.tracking`), with list-shaped rows mapped to the model signature's columns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from mloop.recipes.input_profile import InputProfile
    from mloop.serving.endpoints import Variant
    from mloop.store import Workspace


class ServedModel:
    """A loaded model version: `predict(rows) -> list` plus what the metadata routes describe."""

    __slots__ = ("describe", "feature_names", "inputs", "kind", "model_uri", "name", "predict", "version")

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


Loader = Callable[["Variant"], ServedModel]

_download_lock = threading.Lock()


def model_dir(ws: Workspace, model_uri: str) -> Path:
    """The local directory of a model version, downloaded on first use."""
    from mloop import tracking

    digest = hashlib.sha256(model_uri.encode()).hexdigest()[:24]
    base = ws.state_dir / "serving" / "models"
    final = base / digest
    if final.is_dir():
        return final
    base.mkdir(parents=True, exist_ok=True)
    with _download_lock:
        if final.is_dir():
            return final
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        try:
            tracking.download_model(ws, model_uri, tmp / "m")
            try:
                os.replace(tmp / "m", final)
            except OSError:  # another process won the race
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def workspace_loader(ws: Workspace) -> Loader:
    """The loader servers use: download the variant's model and load it."""

    def load(variant: Variant) -> ServedModel:
        return load_served(model_dir(ws, variant.model_uri), variant.model_name,
                           variant.model_version, variant.model_uri, ws)

    return load


def load_served(path: Path, name: str, version: int, model_uri: str, ws: Workspace | None = None) -> ServedModel:
    """A ServedModel from a local model directory (TabularModel, else MLflow pyfunc)."""
    from mloop.recipes.model import load_model_dir

    try:
        model = load_model_dir(path)
    except NotFound:
        if ws is None:
            raise
        return _pyfunc(ws, name, version, model_uri)

    def predict(rows: list[Any]) -> list[Any]:
        return model.predict_records(rows).tolist()

    return ServedModel(name, version, model_uri, predict, list(model.feature_names),
                       model.describe(), "mloop-tabular", model.inputs)


def _pyfunc(ws: Workspace, name: str, version: int, model_uri: str) -> ServedModel:
    from mloop import tracking

    loaded = tracking.load_pyfunc(ws, model_uri)
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
    except Exception:
        return []
