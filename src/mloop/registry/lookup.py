"""Reading the registry: one version, every version of a model, the latest Approved one, the
models, the audit trail. A version MLflow has but mloop does not (registered in a notebook) is
adopted on the way (`mloop.registry.adopt`), so every read sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from mloop.errors import MloopError, did_you_mean
from mloop.registry.adopt import adopt, sync
from mloop.registry.errors import ModelNotFound, ModelVersionNotFound, NoApprovedVersion
from mloop.registry.records import (
    APPROVED,
    PENDING,
    REJECTED,
    ModelVersion,
    RegisteredModel,
    Transition,
    check_version,
)

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


def get_version(ws: Workspace, name: str, version: int) -> ModelVersion:
    """One version of `name`.

    Raises:
        ModelNotFound / ModelVersionNotFound: with the known names or versions in the hint.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    version = check_version(version)

    def read() -> ModelVersion:
        with ws.db.begin() as conn:
            found = conn.execute(select(t).where(t.c.name == name, t.c.version == version)).first()
            if found is None:
                raise_missing(conn, name, version)
            return ModelVersion.from_row(dict(found._mapping))

    return with_adoption(ws, name, version, read)


def versions(ws: Workspace, name: str) -> list[ModelVersion]:
    """Every version of `name`, oldest first, with status, metrics, run and who decided.

    Raises:
        ModelNotFound: no version of `name` was ever registered.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    def read() -> list[ModelVersion]:
        with ws.db.begin() as conn:
            query = select(t).where(t.c.name == name).order_by(t.c.version)
            rows = [dict(r._mapping) for r in conn.execute(query)]
            if not rows:
                raise_missing(conn, name, None)
        return [ModelVersion.from_row(r) for r in rows]

    return list(_with_sync(ws, name, read))


def latest_approved(ws: Workspace, name: str) -> ModelVersion:
    """The newest Approved version of `name` by version number: what "deploy the latest" means.

    Raises:
        ModelNotFound: unknown model.
        NoApprovedVersion: the model exists but no version is Approved (the hint says which to approve).
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    def resolve() -> ModelVersion:
        with ws.db.begin() as conn:
            found = conn.execute(
                select(t).where(t.c.name == name, t.c.status == APPROVED).order_by(t.c.version.desc()).limit(1)
            ).first()
            if found is not None:
                return ModelVersion.from_row(dict(found._mapping))
            rows = conn.execute(select(t.c.version, t.c.status).where(t.c.name == name).order_by(t.c.version)).all()
            if not rows:
                raise_missing(conn, name, None)
        listing = ", ".join(f"v{v} {s}" for v, s in rows)
        pending = [v for v, s in rows if s == PENDING]
        hint = (f"Approve one: `mloop models approve {name} {pending[-1]} --comment \"...\"`" if pending
                else f"Register a new version of {name} and approve it.")
        raise NoApprovedVersion(f"model {name} has no Approved version ({listing})", hint=hint)

    return _with_sync(ws, name, resolve)  # type: ignore[no-any-return]


def list_models(ws: Workspace) -> list[RegisteredModel]:
    """Every registered model with its version counts, newest version and newest Approved one."""
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    with ws.db.begin() as conn:
        columns = select(t.c.name, t.c.version, t.c.status, t.c.created_at)
        rows = conn.execute(columns.order_by(t.c.name, t.c.version)).all()
    models: dict[str, RegisteredModel] = {}
    for name, version, status, created in rows:
        m = models.get(name) or RegisteredModel(name, 0, 0, None, 0, 0, 0, created)
        m.versions += 1
        m.latest_version = max(m.latest_version, version)
        m.last_registered_at = max(m.last_registered_at, created)
        m.pending += status == PENDING
        m.approved += status == APPROVED
        m.rejected += status == REJECTED
        if status == APPROVED:
            m.latest_approved = max(m.latest_approved or 0, version)
        models[name] = m
    return list(models.values())


def history(ws: Workspace, name: str, version: int | None = None) -> list[Transition]:
    """The audit trail of `name` (optionally one version), oldest first.

    Raises:
        ModelNotFound: unknown model.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_audit as a

    query = select(a).where(a.c.name == name).order_by(a.c.id)
    if version is not None:
        query = query.where(a.c.version == check_version(version))
    with ws.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            raise_missing(conn, name, version)
    return [Transition(**r) for r in rows]


def raise_missing(conn: Connection, name: str, version: int | None) -> NoReturn:
    """Raise ModelNotFound or ModelVersionNotFound, with what exists in the hint."""
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    known = [v for (v,) in conn.execute(select(t.c.version).where(t.c.name == name).order_by(t.c.version))]
    if not known:
        names = [n for (n,) in conn.execute(select(t.c.name).distinct())]
        raise ModelNotFound(f"model '{name}' is not registered",
                            hint=did_you_mean(name, names) + ". See `mloop models list`.")
    raise ModelVersionNotFound(
        f"model {name} has no version {version}",
        hint=f"known versions: {', '.join(map(str, known))}. See `mloop models show {name}`.",
    )


def with_adoption(ws: Workspace, name: str, version: int, action: Callable[[], ModelVersion]) -> ModelVersion:
    """Run `action`; if the version is unknown to mloop but MLflow has it, adopt it and retry."""
    try:
        return action()
    except (ModelNotFound, ModelVersionNotFound):
        if not adopt(ws, name, check_version(version)):
            raise
    return action()


def _with_sync(ws: Workspace, name: str, action: Callable[[], Any]) -> Any:
    """Run `action`; if mloop knows no version of `name` but MLflow does, adopt them and retry."""
    try:
        return action()
    except ModelNotFound:
        try:
            adopted = sync(ws, name)
        except MloopError:
            adopted = []
        if not adopted:
            raise
    return action()
