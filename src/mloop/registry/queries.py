"""Read-only queries over the registry's tables, for the packages above it (lineage).

The tables are private to this package; each query takes an open connection so a caller can
compose it with other packages' queries in one transaction. "Not found" comes from here, with the
registry's own codes (`model_not_found`, `model_version_not_found`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from mloop.errors import did_you_mean
from mloop.registry.errors import ModelNotFound, ModelVersionNotFound
from mloop.registry.tables import registry_audit, registry_versions


def version_record(conn: Connection, name: str, version: int) -> dict[str, Any]:
    """The registry record of `name` version `version`.

    Raises:
        ModelNotFound: no version of `name` is registered (the hint names the closest model).
        ModelVersionNotFound: `name` has no such version (the hint lists its versions).
    """
    rv = registry_versions
    row = conn.execute(select(rv).where(rv.c.name == name, rv.c.version == version)).first()
    if row is not None:
        return dict(row._mapping)
    versions = [r.version for r in conn.execute(select(rv.c.version).where(rv.c.name == name))]
    if versions:
        raise ModelVersionNotFound(f"model '{name}' has no version {version}",
                                   hint=f"versions: {', '.join(map(str, sorted(versions)))}")
    names = [r.name for r in conn.execute(select(rv.c.name).distinct())]
    raise ModelNotFound(f"model '{name}' not found", hint=did_you_mean(name, names))


def approval_trail(conn: Connection, name: str, version: int) -> list[Any]:
    """Every status change of a version, oldest first (from, to, principal, at, comment)."""
    ra = registry_audit
    return list(conn.execute(select(ra).where(ra.c.name == name, ra.c.version == version).order_by(ra.c.id)).all())
