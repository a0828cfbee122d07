"""Feature groups in the metadata database: create, read, list, delete, data versions.

An ingestion becomes visible in one transaction that inserts its row (pointing at an immutable
Parquet artifact) and bumps the group's data version, so readers see all of it or none of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal
from mloop.errors import did_you_mean
from mloop.features.errors import FeatureGroupExists, FeatureGroupNotFound
from mloop.features.schema import FeatureGroup, FeatureGroupSpec
from mloop.features.tables import feature_groups
from mloop.features.tables import feature_ingestions as t

if TYPE_CHECKING:
    from mloop.store import Workspace

# Hot paths (online reads, record writes) look groups up often; a short TTL keeps them off
# the metadata database without serving a deleted group for long.
_CACHE_TTL = 2.0
_cache: dict[tuple[str, str], tuple[float, FeatureGroup]] = {}


def _row_to_group(row: Any) -> FeatureGroup:
    return FeatureGroup(
        spec=FeatureGroupSpec.model_validate(row.spec), id=row.id,
        data_version=row.data_version, created_at=row.created_at, created_by=row.created_by,
    )


def create_group(ws: Workspace, spec: FeatureGroupSpec) -> FeatureGroup:
    """Store a new feature group.

    Raises:
        FeatureGroupExists: a group with this name exists.
    """
    from sqlalchemy.exc import IntegrityError

    spec = FeatureGroupSpec.model_validate(spec.model_dump())  # re-validate a mutated spec
    try:
        with ws.db.begin() as conn:
            conn.execute(feature_groups.insert().values(
                name=spec.name, spec=spec.model_dump(mode="json"), data_version=0,
                created_at=datetime.now(UTC), created_by=acting_principal(ws),
            ))
    except IntegrityError as exc:
        raise FeatureGroupExists(f"feature group '{spec.name}' already exists") from exc
    return get_group(ws, spec.name)


def get_group(ws: Workspace, name: str) -> FeatureGroup:
    """The stored group `name`.

    Raises:
        FeatureGroupNotFound: no such group (the hint names the known groups).
    """
    from sqlalchemy import select

    with ws.db.begin() as conn:
        row = conn.execute(select(feature_groups).where(feature_groups.c.name == name)).first()
        if row is None:
            known = conn.execute(select(feature_groups.c.name)).scalars().all()
    if row is None:
        raise FeatureGroupNotFound(
            f"feature group '{name}' not found",
            hint=did_you_mean(name, known) + ". Create it with `mloop features create`.",
        )
    group = _row_to_group(row)
    _cache[(ws.settings.database_url, name)] = (time.monotonic(), group)
    return group


def cached_group(ws: Workspace, name: str) -> FeatureGroup:
    """`get_group` through a short-lived per-process cache (for the hot paths)."""
    hit = _cache.get((ws.settings.database_url, name))
    if hit is not None and time.monotonic() - hit[0] < _CACHE_TTL:
        return hit[1]
    return get_group(ws, name)


def list_groups(ws: Workspace) -> list[FeatureGroup]:
    """Every group, by name."""
    from sqlalchemy import select

    with ws.db.begin() as conn:
        rows = conn.execute(select(feature_groups).order_by(feature_groups.c.name)).all()
    return [_row_to_group(r) for r in rows]


def forget_cached(ws: Workspace, name: str) -> None:
    """Drop `name` from this process's group cache (the group was just deleted)."""
    _cache.pop((ws.settings.database_url, name), None)


def ingested_digests(ws: Workspace) -> set[str]:
    """Every artifact digest a feature group's ingestion refers to (what must not be deleted)."""
    from sqlalchemy import select

    with ws.db.begin() as conn:
        return {d for (d,) in conn.execute(select(t.c.digest).where(t.c.digest.is_not(None)).distinct())}


def data_version(ws: Workspace, group: str) -> int:
    """The group's data version: 0 when empty, +1 with every committed ingestion or flush.

    Pipelines put it in an extract step's cache key, so new data invalidates the cache.
    """
    return get_group(ws, group).data_version


@dataclass(frozen=True)
class Ingestion:
    id: int
    version: int
    kind: str
    source: str
    source_hash: str
    digest: str | None
    rows: int
    rejected: int
    quarantine: str | None
    online_applied: bool
    created_at: datetime


def ingestions(ws: Workspace, group: FeatureGroup) -> list[Ingestion]:
    """Committed ingestions of `group`, oldest first."""
    from sqlalchemy import select

    query = select(t).where(t.c.group_id == group.id).order_by(t.c.id)
    with ws.db.begin() as conn:
        rows = conn.execute(query).all()
    return [
        Ingestion(r.id, r.version, r.kind, r.source, r.source_hash, r.digest, r.rows, r.rejected,
                  r.quarantine, r.online_applied, r.created_at)
        for r in rows
    ]


def find_ingestion(ws: Workspace, group: FeatureGroup, source_hash: str) -> Ingestion | None:
    """The newest ingestion of this exact content, if any."""
    for ing in reversed(ingestions(ws, group)):
        if ing.source_hash == source_hash:
            return ing
    return None


def commit_ingestion(ws: Workspace, group: FeatureGroup, **values: Any) -> tuple[int, int] | None:
    """Insert an ingestion row and bump the data version in one transaction.

    Returns:
        (ingestion id, new data version), or None when `dedupe_key` was already committed.
    """
    from sqlalchemy import select, update
    from sqlalchemy.exc import IntegrityError

    g = feature_groups
    try:
        with ws.db.begin() as conn:
            conn.execute(update(g).where(g.c.id == group.id).values(data_version=g.c.data_version + 1))
            version = conn.execute(select(g.c.data_version).where(g.c.id == group.id)).scalar_one()
            values.setdefault("created_at", datetime.now(UTC))  # an ingest passes the time it filled in
            result = conn.execute(t.insert().values(
                group_id=group.id, version=version,
                principal=acting_principal(ws), online_applied=not group.spec.online, **values,
            ))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0]), int(version)
    except IntegrityError:
        return None


def has_unpublished(ws: Workspace, group: FeatureGroup) -> bool:
    """Whether a committed ingestion of `group` still waits for its online publish."""
    from sqlalchemy import select

    query = select(t.c.id).where(t.c.group_id == group.id, t.c.online_applied.is_(False)).limit(1)
    with ws.db.begin() as conn:
        return conn.execute(query).first() is not None


def mark_online_applied(ws: Workspace, ingestion_id: int) -> None:
    from sqlalchemy import update

    with ws.db.begin() as conn:
        conn.execute(update(t).where(t.c.id == ingestion_id).values(online_applied=True))
