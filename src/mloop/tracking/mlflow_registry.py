"""MLflow's model registry, as plain data: the adapter `mloop.registry` builds approvals on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.tracking.client import configure, tracking_uri
from mloop.tracking.errors import TrackingNotFound, mlflow_errors

if TYPE_CHECKING:
    from mloop.store import Workspace


def create_version(
    ws: Workspace, name: str, source: str, *, run_id: str | None = None,
    tags: Mapping[str, str] | None = None, description: str | None = None,
) -> dict[str, Any]:
    """Create a new version of registered model `name` (created if missing) from `source`.

    `source` is a model URI: `models:/m-...` (what `log_model` returns), `runs:/RUN/PATH`, or an
    artifact location. Returns the version as `_as_dict` describes.
    """
    from mlflow.exceptions import MlflowException

    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        try:
            client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
        if source.startswith("runs:/"):
            source = _logged_model_of_run(client, source)
        model_id = None
        if source.startswith("models:/m-"):
            model_id = source[len("models:/"):].split("/", 1)[0]
            if run_id is None:
                run_id = client.get_logged_model(model_id).source_run_id
        version = client.create_model_version(
            name, source=source, run_id=run_id, tags=dict(tags or {}),
            description=description, model_id=model_id,
        )
    return _as_dict(version)


def _logged_model_of_run(client: Any, uri: str) -> str:
    """`runs:/RUN/NAME` -> `models:/m-...`: MLflow 3 keeps models beside runs, not inside them."""
    run_id, _, name = uri[len("runs:/"):].partition("/")
    run = client.get_run(run_id)
    found = [m for m in client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                                      filter_string=f"name = '{name or 'model'}'")
             if m.source_run_id == run_id]
    if not found:
        return uri  # an MLflow 2-style model stored inside the run's artifacts
    if len(found) > 1:
        raise TrackingNotFound(f"run {run_id} logged {len(found)} models named '{name}'",
                               hint="Register the `models:/m-...` URI that log_model returned.")
    return f"models:/{found[0].model_id}"


def set_version_tag(ws: Workspace, name: str, version: int, key: str, value: str) -> None:
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        client.set_model_version_tag(name, str(version), key, value)


def get_version(ws: Workspace, name: str, version: int) -> dict[str, Any]:
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        return _as_dict(client.get_model_version(name, str(version)))


def search_versions(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """Every version of `name` known to MLflow, oldest first."""
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        found = client.search_model_versions(f"name = '{name.replace(chr(39), '')}'", max_results=10000)
    return sorted((_as_dict(v) for v in found), key=lambda v: v["version"])


def _as_dict(version: Any) -> dict[str, Any]:
    created = version.creation_timestamp
    return {
        "name": version.name,
        "version": int(version.version),
        "source": version.source,
        "run_id": version.run_id or None,
        "model_id": getattr(version, "model_id", None),
        "created_at": datetime.fromtimestamp(created / 1000, UTC) if created else datetime.now(UTC),
        "tags": dict(version.tags or {}),
        "status": version.status,
    }


def list_names(ws: Workspace) -> list[str]:
    """Names of every registered model in MLflow."""
    client = configure(ws)
    names: list[str] = []
    token = None
    with mlflow_errors(tracking_uri(ws)):
        while True:
            page = client.search_registered_models(max_results=1000, page_token=token)
            names += [m.name for m in page]
            token = page.token
            if not token:
                return names


def delete_versions(ws: Workspace, name: str, versions: list[int], *, drop_model: bool = False) -> None:
    """Delete `versions` of `name` from MLflow's registry (and the registered model when `drop_model`).

    Versions MLflow never had (or already deleted) are skipped: deletion is idempotent.
    """
    from mlflow.exceptions import MlflowException

    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        for version in versions:
            try:
                client.delete_model_version(name, str(version))
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        if drop_model:
            try:
                client.delete_registered_model(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
