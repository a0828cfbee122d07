"""Deleting a feature group everywhere it lives: its metadata rows, its online rows, its record
spool and (with `purge`) its quarantine files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mloop.features.groups import forget_cached, get_group
from mloop.features.online.backends import online_store
from mloop.features.records import drop_spool
from mloop.features.tables import feature_groups
from mloop.features.tables import feature_ingestions as t

if TYPE_CHECKING:
    from mloop.store import Workspace


def delete_group(ws: Workspace, name: str, *, purge: bool = False) -> list[str]:
    """Delete a group, its ingestion records, its online rows and its record spool (with `purge`,
    its quarantine files too).

    Returns:
        The digests of the group's offline Parquet files. They stay in the content-addressed
        store (other records may share them): `mloop.teardown` removes those nothing refers to.
    """
    from sqlalchemy import delete, select

    group = get_group(ws, name)
    with ws.db.begin() as conn:
        rows = conn.execute(select(t.c.digest, t.c.quarantine).where(t.c.group_id == group.id)).all()
        conn.execute(delete(t).where(t.c.group_id == group.id))
        conn.execute(delete(feature_groups).where(feature_groups.c.id == group.id))
    forget_cached(ws, name)
    online_store(ws).delete_group(name)
    drop_spool(ws, name)
    if purge:
        _drop_quarantine(ws, [q for _, q in rows if q])
    return sorted({d for d, _ in rows if d})


def _drop_quarantine(ws: Workspace, paths: list[str]) -> None:
    """Quarantine files hold rejected rows (personal data too): only mloop's own, under .mloop/."""
    own = (ws.state_dir / "quarantine").resolve()
    for text in paths:
        path = Path(text).resolve()
        if path.is_relative_to(own):
            path.unlink(missing_ok=True)
