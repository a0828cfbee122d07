"""The end of a version's life, and its one identity: duplicates by file digest, deletion.

A version points at exactly one set of model files (seed 000's lesson), so registering the same
files again returns the version that holds them. Deleting removes the versions from mloop and
from MLflow's registry alike (otherwise `adopt` would bring them back). Whether an endpoint still
serves a version is for `mloop.serving` to check before it calls `delete_versions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.registry.lookup import raise_missing
from mloop.registry.records import DIGEST_KEY, ModelVersion
from mloop.store.events import append_event
from mloop.tracking import mlflow_registry

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from mloop.store import Workspace

REUSED_BY = "reused_by_pipeline_runs"


def same_files(ws: Workspace, name: str, digest: str, pipeline_run_id: str | None = None) -> ModelVersion | None:
    """The oldest version of `name` whose model files have `digest`, or None.

    A pipeline run that found its model already registered is remembered on the version
    (`reused_by_pipeline_runs`), so a release still finds the version its run stands for.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    with ws.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t).where(t.c.name == name).order_by(t.c.version))]
        found = next((r for r in rows if (r["meta"] or {}).get(DIGEST_KEY) == digest), None)
        if found is None:
            return None
        if pipeline_run_id:
            meta = dict(found["meta"] or {})
            meta[REUSED_BY] = [*meta.get(REUSED_BY, []), pipeline_run_id]
            conn.execute(t.update().where(t.c.id == found["id"]).values(meta=meta))
            found["meta"] = meta
    version = ModelVersion.from_row(found)
    version.reused = True
    return version


def delete_versions(ws: Workspace, name: str, version: int | None = None) -> list[int]:
    """Delete one version of `name`, or the whole model (every version); returns the versions deleted.

    Raises:
        ModelNotFound / ModelVersionNotFound: nothing to delete (the hint lists what exists).
    """
    from sqlalchemy import delete, select

    from mloop.registry.tables import registry_audit as a
    from mloop.registry.tables import registry_versions as t

    with ws.db.begin() as conn:
        query = select(t.c.version).where(t.c.name == name)
        if version is not None:
            query = query.where(t.c.version == version)
        doomed = [v for (v,) in conn.execute(query.order_by(t.c.version).with_for_update())]
        if not doomed:
            raise_missing(conn, name, version)
        conn.execute(delete(t).where(t.c.name == name, t.c.version.in_(doomed)))
        conn.execute(delete(a).where(a.c.name == name, a.c.version.in_(doomed)))
        remaining = conn.execute(select(t.c.version).where(t.c.name == name).limit(1)).first()
        append_event(conn, "registry.deleted", f"{name}/{version or '*'}", {"versions": doomed},
                     ws.settings.principal)
        mlflow_registry.delete_versions(ws, name, doomed, drop_model=remaining is None)
    return doomed
