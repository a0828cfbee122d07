"""Loading registered model versions for serving.

A model version is downloaded once into `.mloop/serving/models/<digest of its URI>/` (a temp dir
renamed into place, so a crash never leaves half a model) and loaded as a `TabularModel` (the fast
path: raw records, no pandas). Any other MLflow pyfunc model is served through MLflow's loader,
slower but complete (loaded through `mloop.tracking`), with list-shaped rows mapped to the model signature's columns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import IntegrityError, InvalidInput, NotFound

if TYPE_CHECKING:
    from mloop.model_format import InputProfile
    from mloop.serving.endpoints import Variant
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

log = logging.getLogger("mloop.serving")

_download_lock = threading.Lock()


def model_dir(ws: Workspace, model_uri: str, expected: str | None = None) -> Path:
    """The local directory of a model version, downloaded on first use and verified before use.

    Args:
        expected: the `tracking.model_digest` recorded when the version was registered. A cached copy that
            does not match is thrown away and downloaded again; a download that does not match
            is refused.

    Raises:
        IntegrityError: the registry's copy of the model files does not match `expected`.
    """
    from mloop import tracking

    digest = hashlib.sha256(model_uri.encode()).hexdigest()[:24]
    base = ws.state_dir / "serving" / "models"
    final = base / digest
    if final.is_dir() and _matches(final, expected, model_uri, "cached copy"):
        return final
    base.mkdir(parents=True, exist_ok=True)
    with _download_lock:
        if final.is_dir():
            if _matches(final, expected, model_uri, "cached copy"):
                return final
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        try:
            tracking.download_model(ws, model_uri, tmp / "m")
            if not _matches(tmp / "m", expected, model_uri, "download"):
                raise IntegrityError(
                    f"the files of {model_uri} do not match the digest recorded at registration "
                    f"({(expected or '')[:12]}): refusing to load them",
                    hint="The registry's copy was changed or damaged; register the model again "
                         "from its training run (`mloop runs retry` / `mloop run`), then deploy that version.")
            try:
                os.replace(tmp / "m", final)
            except OSError:  # another process won the race
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _matches(path: Path, expected: str | None, model_uri: str, what: str) -> bool:
    from mloop import tracking

    if expected is None:
        return True  # registered before digests were recorded: nothing to check against
    if tracking.files_digest(path) == expected:
        return True
    log.warning("%s of %s does not match its registered digest %s", what, model_uri, expected[:12])
    return False


def expected_digest(ws: Workspace, variant: Variant) -> str | None:
    """The digest recorded when the variant's model version was registered (None: none recorded)."""
    from mloop import registry

    try:
        return registry.get_version(ws, variant.model_name, int(variant.model_version)).model_digest
    except NotFound:
        return None


def workspace_loader(ws: Workspace) -> Loader:
    """The loader servers use: download (or reuse) the variant's model, verify it, load it."""

    def load(variant: Variant) -> ServedModel:
        path = model_dir(ws, variant.model_uri, expected_digest(ws, variant))
        return load_served(path, variant.model_name, variant.model_version, variant.model_uri, ws)

    return load


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
    served.path = path  # a worker process loads it again for very large requests (`bulk`)
    return served


def _pyfunc(ws: Workspace, name: str, version: int, model_uri: str, path: Path) -> ServedModel:
    from mloop import tracking

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
