"""Endpoints and variants: the configuration records and how they are read.

An endpoint is a named set of variants, each a model version with an integer traffic weight;
the weights of an endpoint sum to 100. Every change goes through `changes.apply_change`, which
bumps `generation` and appends the resulting configuration to the history; servers follow the
generation (`generation` is their cheap poll).

SQLAlchemy and the tables are imported inside the functions that query: `import mloop.serving`
stays light (~0.6 s less), and a server of one model directory (SageMaker) never opens a database.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.serving.errors import EndpointNotFound

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Variant:
    """One model version behind an endpoint, with its share of the traffic (0-100).

    A `shadow` variant takes no traffic (weight 0): it predicts on copies of a `sample` share of
    the requests after they were answered, and only the prediction log sees its answers.
    """

    name: str
    model_name: str
    model_version: int
    model_uri: str
    weight: int
    deployed_at: str = ""
    shadow: bool = False
    sample: float = 1.0


@dataclass
class Endpoint:
    """The current configuration of an endpoint."""

    name: str
    generation: int
    variants: list[Variant]
    follow_model: str | None = None
    follow_canary_weight: int | None = None
    guardrails: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise InvalidInput(
            f"endpoint '{self.name}' has no variant '{name}'",
            hint=did_you_mean(name, [v.name for v in self.variants]),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "updated_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def list_endpoints(ws: Workspace) -> list[Endpoint]:
    """Every endpoint with its variants, by name."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoints

    with ws.db.begin() as conn:
        names = [r.name for r in conn.execute(select(endpoints.c.name).order_by(endpoints.c.name))]
        return [read_endpoint(conn, n) for n in names]  # type: ignore[misc]


def get_endpoint(ws: Workspace, name: str) -> Endpoint:
    """The endpoint `name`.

    Raises:
        EndpointNotFound: no such endpoint (the hint names the known ones).
    """
    with ws.db.begin() as conn:
        found = read_endpoint(conn, name)
    if found is None:
        raise not_found(name, [e.name for e in list_endpoints(ws)])
    return found


def not_found(name: str, known: list[str]) -> EndpointNotFound:
    """The error for an unknown endpoint, naming the `known` ones."""
    return EndpointNotFound(
        f"endpoint '{name}' not found",
        hint=did_you_mean(name, known) + ". Create it with `mloop deploy ENDPOINT --model NAME --latest-approved`.",
    )


def find_endpoint(ws: Workspace, name: str) -> Endpoint | None:
    """The endpoint `name`, or None (servers wait for a first deploy)."""
    with ws.db.begin() as conn:
        return read_endpoint(conn, name)


def generation(ws: Workspace, name: str) -> int:
    """The endpoint's configuration generation (0 when it does not exist): a cheap poll."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoints

    with ws.db.engine.connect() as conn:
        value = conn.execute(select(endpoints.c.generation).where(endpoints.c.name == name)).scalar()
        conn.rollback()
    return int(value or 0)


def history(ws: Workspace, name: str, limit: int = 100) -> list[dict[str, Any]]:
    """The endpoint's configuration changes, newest first (each with the variants after it)."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_history as h

    get_endpoint(ws, name)
    query = select(h).where(h.c.endpoint == name).order_by(h.c.generation.desc()).limit(limit)
    with ws.db.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def read_endpoint(conn: Connection, name: str, lock: bool = False) -> Endpoint | None:
    """The endpoint `name` read in `conn` (locked for update with `lock`), or None."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_variants as ev
    from mloop.serving.tables import endpoints

    query = select(endpoints).where(endpoints.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    rows = conn.execute(select(ev).where(ev.c.endpoint == name).order_by(ev.c.variant)).all()
    variants = [
        Variant(r.variant, r.model_name, r.model_version, r.model_uri, r.weight, _iso(r.deployed_at),
                bool(r.shadow), float(r.sample))
        for r in rows
    ]
    variants.sort(key=lambda v: (v.name != "production", v.name))
    return Endpoint(
        name=row.name, generation=row.generation, variants=variants,
        follow_model=row.follow_model, follow_canary_weight=row.follow_canary_weight,
        guardrails=dict(row.guardrails or {}), created_at=row.created_at, updated_at=row.updated_at,
    )


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def check_endpoint_name(name: str) -> None:
    """Refuse a name that could not be an endpoint (it also names files: no paths, no dots first).

    Raises:
        InvalidInput: the name is not letters, digits, '-', '_' or '.' starting with a letter or digit.
    """
    check_name(name, "endpoint")


def check_name(value: str, what: str) -> None:
    """`check_endpoint_name` for any name (`what`: endpoint, variant)."""
    if not _NAME.match(value):
        raise InvalidInput(
            f"invalid {what} name '{value}'",
            hint="Use letters, digits, '-', '_' or '.', starting with a letter or digit (max 100).",
        )
