"""Adopt versions registered straight into MLflow (UI, `mlflow.register_model`) into the workflow.

MLflow users register models in their notebooks; the approval workflow must still see those
versions. An adopted version starts `PendingManualApproval` like any other (an approval tag
someone set by hand in MLflow is not trusted), with an audit entry saying where it came from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth import normalize
from mloop.errors import NotFound
from mloop.registry.audit import write_audit
from mloop.registry.records import PENDING, STATUS_TAG, ModelVersion
from mloop.tracking import mlflow_registry

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from mloop.store import Workspace


def adopt(ws: Workspace, name: str, version: int) -> bool:
    """Adopt MLflow's `name` version `version` if MLflow has it and mloop does not; True if it exists now."""
    try:
        found = mlflow_registry.get_version(ws, name, version)
    except NotFound:  # MLflow has no such version; an unreachable MLflow propagates
        return False
    _insert(ws, found)
    return True


def sync(ws: Workspace, name: str | None = None, *, principal: str | None = None) -> list[ModelVersion]:
    """Adopt every MLflow version (of `name`, or of every model) that mloop does not know yet.

    `principal` adopts them (`mloop models sync`): the audit names them, and a version whose
    MLflow tags name no registering principal counts as registered by them (four-eyes). Adoption
    on the way to a decision (`approve` of a version only MLflow knows) passes none.

    Returns:
        The versions adopted now, as PendingManualApproval.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions

    who = normalize(principal) or None
    names = [name] if name else mlflow_registry.list_names(ws)
    adopted = []
    for model in names:
        with ws.db.begin() as conn:
            query = select(registry_versions.c.version).where(registry_versions.c.name == model)
            known = {v for (v,) in conn.execute(query)}
        for found in mlflow_registry.search_versions(ws, model):
            if found["version"] not in known and _insert(ws, found, who):
                adopted.append(found)
    return [_as_version(f, who) for f in adopted]


def _row(found: dict[str, Any], adopter: str | None = None) -> dict[str, Any]:
    return {
        "name": found["name"], "version": found["version"], "status": PENDING,
        "model_uri": f"models:/{found['name']}/{found['version']}", "source": found["source"] or "",
        "run_id": found["run_id"], "metrics": {}, "meta": {"adopted_from": "mlflow"},
        "created_at": found["created_at"], "registered_by": found["tags"].get("mloop.registered_by") or adopter,
        "decided_by": None, "decided_at": None, "comment": None,
    }


def _insert(ws: Workspace, found: dict[str, Any], adopter: str | None = None) -> bool:
    from sqlalchemy.exc import IntegrityError

    from mloop.registry.tables import registry_versions

    row = _row(found, adopter)
    try:
        with ws.db.begin() as conn:
            conn.execute(registry_versions.insert().values(**row))
            write_audit(conn, row["name"], row["version"], None, PENDING, adopter, datetime.now(UTC),
                        "adopted from MLflow (registered outside mloop)")
    except IntegrityError:  # another process adopted it first
        return False
    mlflow_registry.set_version_tag(ws, row["name"], row["version"], STATUS_TAG, PENDING)
    return True


def _as_version(found: dict[str, Any], adopter: str | None = None) -> ModelVersion:
    return ModelVersion.from_row(_row(found, adopter))
