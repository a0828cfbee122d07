"""MLflow logged models: log a pyfunc model to a run, download a model directory, load it back,
and the digest of its files (how the registry knows the same model registered twice)."""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.tracking.client import activated, configure, tracking_uri
from mloop.tracking.errors import mlflow_errors

if TYPE_CHECKING:
    from mloop.store import Workspace

_BASE_REQUIREMENTS = ("mlflow", "cloudpickle", "numpy", "pandas")


def default_requirements(extra: tuple[str, ...] = ()) -> list[str]:
    """Pinned requirements of the running environment (skips MLflow's slow inference)."""
    out = []
    for dist in (*_BASE_REQUIREMENTS, *extra):
        try:
            out.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def log_model(
    ws: Workspace,
    run_id: str,
    *,
    python_model: Any,
    artifacts: Mapping[str, str] | None = None,
    input_example: Any = None,
    signature: Any = None,
    name: str = "model",
    pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    **flavor_options: Any,
) -> str:
    """Log `python_model` (an `mlflow.pyfunc.PythonModel`) as an MLflow model of run `run_id`.

    Args:
        python_model: the pyfunc wrapper; `artifacts` maps names to local files it loads.
        input_example: stored with the model; the signature is inferred from it when
            `signature` is None.
        flavor_options: passed to MLflow's pyfunc flavor (e.g. `model_config`).
        pip_requirements: defaults to the pinned mlflow/cloudpickle/numpy/pandas of this
            environment (MLflow's own inference loads the model in a subprocess: seconds).

    Returns:
        The model URI (`models:/m-...`), usable with `download_model`, `load_pyfunc` and
        `mloop.registry.register`.

    Raises:
        TrackingUnavailable: the tracking store cannot be reached.
        TrackingNotFound: the run does not exist.
    """
    import mlflow
    from mlflow.models import Model

    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        run = client.get_run(run_id)
        logged = client.create_logged_model(run.info.experiment_id, name=name, source_run_id=run_id)
    with activated(ws), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = Model.log(
            None, name=name, flavor=mlflow.pyfunc, python_model=python_model,
            artifacts=dict(artifacts) if artifacts else None, input_example=input_example,
            signature=signature, run_id=run_id, model_id=logged.model_id,
            pip_requirements=pip_requirements or default_requirements(),
            code_paths=code_paths, metadata=dict(metadata) if metadata else None, **flavor_options,
        )
    return str(info.model_uri)


def download_model(ws: Workspace, model_uri: str, dst: Path) -> Path:
    """Download the model at `model_uri` (`models:/...`, `runs:/...`) into `dst`.

    Returns:
        The local directory holding `MLmodel`.
    """
    import mlflow

    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    with activated(ws):
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(dst), tracking_uri=tracking_uri(ws)
        )
    return Path(path)


def load_pyfunc(ws: Workspace, model_uri: str) -> Any:
    """Load the model at `model_uri` as an `mlflow.pyfunc.PyFuncModel`."""
    import mlflow

    with activated(ws), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pyfunc.load_model(model_uri)


# MLmodel fields that name one logging of a model, not its content: two logs of the same files differ here.
_IDENTITY_FIELDS = ("run_id", "model_id", "model_uuid", "utc_time_created", "artifact_path", "model_size_bytes")
_REGISTRY_FILES = ("registered_model_meta",)  # written by the registry, not part of the model


def model_digest(ws: Workspace, model_uri: str) -> str | None:
    """SHA-256 over the model's file contents, MLflow's per-log identity and local paths ignored.

    The registry compares it to refuse duplicates: re-registering what an unchanged (cached)
    training step logged yields the same digest as the version it already made, even when the
    files were logged again from another directory. Only models MLflow logged (`models:/m-...`,
    `runs:/...`) have one; a bare storage location is registered as given, unread (None).
    """
    if not model_uri.startswith(("models:/m-", "runs:/")):
        return None
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mloop-digest-") as tmp:
        return files_digest(download_model(ws, model_uri, Path(tmp)))


def files_digest(root: Path) -> str:
    """`model_digest` of a model directory already on disk (servers check their copy with it)."""
    import hashlib

    parts = sorted(_content_digest(path) for path in Path(root).rglob("*")
                   if path.is_file() and path.name not in _REGISTRY_FILES)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _content_digest(path: Path) -> str:
    import hashlib

    import yaml

    data = path.read_bytes()
    if path.name == "MLmodel":
        doc = yaml.safe_load(data) or {}
        for flavor in (doc.get("flavors") or {}).values():
            if isinstance(flavor, dict):
                flavor.pop("artifacts", None)  # local paths; the artifact files are hashed themselves
                flavor.pop("model_code_path", None)
        data = yaml.safe_dump({k: v for k, v in doc.items() if k not in _IDENTITY_FIELDS}, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()
