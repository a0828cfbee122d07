"""Registering a model version: from a logged model (or a run) into MLflow's registry and mloop's
records, PendingManualApproval, audited; an approval policy may approve it at once.

MLflow assigns version numbers and stores the models; mloop's metadata database holds the
version's approval status and its audit trail (`mloop.registry.approval`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal, normalize
from mloop.errors import InvalidInput
from mloop.registry.approval import synced
from mloop.registry.audit import write_audit
from mloop.registry.events import publish, status_change
from mloop.registry.lifecycle import same_files
from mloop.registry.records import DIGEST_KEY, PENDING, STATUS_TAG, ModelVersion, check_name
from mloop.store.encoding import json_default
from mloop.tracking import mlflow_registry
from mloop.tracking.logged_models import model_digest

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from mloop.store import Workspace


def register(
    ws: Workspace, name: str, model_uri: str | None = None, *, run_id: str | None = None,
    metrics: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None,
    principal: str | None = None,
) -> ModelVersion:
    """Create a new version of model `name` from `model_uri`; it starts PendingManualApproval.

    When a version of `name` already holds the same model files (by digest), that version is
    returned with `reused=True` instead: an unchanged re-run registers nothing new.

    Args:
        model_uri: what `mloop.tracking.log_model` returned (`models:/m-...`) or `runs:/RUN/NAME`;
            when omitted, the model named "model" that run `run_id` logged.
        run_id: the training run (taken from the logged model when omitted).
        metrics: evaluation metrics shown next to the version (e.g. {"auc": 0.91}).
        metadata: anything else worth keeping (pipeline run id, data version...).
        principal: who registers; defaults to `settings.principal`.

    Raises:
        InvalidInput: bad model name or empty URI.
        TrackingUnavailable / TrackingNotFound: MLflow cannot be reached or the model is unknown.
    """
    from mloop.registry.tables import registry_versions

    check_name(name)
    if not model_uri and run_id:
        model_uri = f"runs:/{run_id}/model"
    if not model_uri:
        raise InvalidInput("register needs a model_uri or a run_id",
                           hint="Pass the URI `mloop.tracking.log_model` returned, or the training run's id.")
    digest = model_digest(ws, model_uri)
    same = same_files(ws, name, digest, (metadata or {}).get("pipeline_run_id")) if digest else None
    if same is not None:
        return same
    principal = normalize(principal) or acting_principal(ws)
    tags = {STATUS_TAG: PENDING, "mloop.registered_by": principal or ""}
    created = mlflow_registry.create_version(ws, name, model_uri, run_id=run_id, tags=tags)
    now = datetime.now(UTC)
    row = {
        "name": name, "version": created["version"], "status": PENDING,
        "model_uri": f"models:/{name}/{created['version']}", "source": created["source"] or model_uri,
        "run_id": created["run_id"] or run_id, "metrics": _jsonable(metrics),
        "meta": {**_jsonable(metadata), **({DIGEST_KEY: digest} if digest else {})},
        "created_at": created["created_at"] or now, "registered_by": principal,
        "decided_by": None, "decided_at": None, "comment": None,
    }
    with ws.db.begin() as conn:
        conn.execute(registry_versions.insert().values(**row))
        write_audit(conn, name, row["version"], None, PENDING, principal, now, None)
    version = ModelVersion.from_row(row)
    publish(ws, status_change(ws, version, None, principal, None, now))
    from mloop.registry.policy import apply_policy  # its language lives in mloop.config (pydantic)

    return synced(ws, apply_policy(ws, version), True)


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(data or {}), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"metrics and metadata must be JSON-serializable: {exc}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return json_default(value)  # numpy scalars
