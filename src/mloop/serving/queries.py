"""Read-only queries over the serving package's tables, for the packages above it (lineage).

The tables are private to this package; each query takes an open connection so a caller can
compose it with other packages' queries in one transaction. "Not found" comes from here, with
serving's own code (`endpoint_not_found`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from mloop.errors import did_you_mean
from mloop.serving.errors import EndpointNotFound
from mloop.serving.tables import endpoint_history, endpoint_variants, endpoints


def variants_serving(conn: Connection, name: str, version: int) -> list[Any]:
    """The endpoint variants serving a model version (endpoint, variant, weight, deployed_at)."""
    ev = endpoint_variants
    query = select(ev).where(ev.c.model_name == name, ev.c.model_version == version).order_by(ev.c.endpoint)
    return list(conn.execute(query).all())


def endpoint_record(conn: Connection, name: str) -> Any:
    """The endpoints row of `name`.

    Raises:
        EndpointNotFound: no such endpoint (the hint names the closest and lists them).
    """
    row = conn.execute(select(endpoints).where(endpoints.c.name == name)).first()
    if row is None:
        names = [r.name for r in conn.execute(select(endpoints.c.name))]
        raise EndpointNotFound(f"endpoint '{name}' not found", hint=did_you_mean(name, names))
    return row


def variants_of(conn: Connection, name: str) -> list[Any]:
    """The variants of endpoint `name`, by variant name."""
    ev = endpoint_variants
    return list(conn.execute(select(ev).where(ev.c.endpoint == name).order_by(ev.c.variant)).all())


def recent_changes(conn: Connection, name: str, limit: int = 20) -> list[Any]:
    """The newest configuration changes of endpoint `name` (generation, at, action, principal)."""
    eh = endpoint_history
    query = (select(eh.c.generation, eh.c.at, eh.c.action, eh.c.principal)
             .where(eh.c.endpoint == name).order_by(eh.c.generation.desc()).limit(limit))
    return list(conn.execute(query).all())
