"""Online rows of an ingestion, built while it validates and published after its commit.

With the SQLite online store, each validated block goes to a `RunWriter`, which sorts the
rows into run files (`online.runs`) before the metadata commit; publishing after the commit
registers them in one transaction, so no row-by-row upsert sits on the ingest's critical path.
A crash before the commit leaves unregistered files (swept by the next writer); a crash after
it leaves the ingestion marked "online not applied", and the next ingest, flush or read
re-applies it from the immutable Parquet file (`repair_online`).

Other stores (Redis) have no runs: `start_stage` returns None and the ingest upserts the
committed Parquet file row by row (`online.write.apply_parquet`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from mloop.features.groups import ingestions, mark_online_applied
from mloop.features.online.backends import online_store
from mloop.features.online.base import TakesRuns
from mloop.features.online.rows import parquet_tables
from mloop.features.online.write import apply_parquet

if TYPE_CHECKING:
    from mloop.features.online.runs import RunWriter
    from mloop.features.schema import FeatureGroup, FeatureGroupSpec
    from mloop.store import Workspace


def start_stage(ws: Workspace, spec: FeatureGroupSpec) -> RunWriter | None:
    """A run writer when the group is online and its store takes runs (SQLite), else None."""
    store = online_store(ws)
    if not spec.online or not isinstance(store, TakesRuns):
        return None
    return store.run_writer(spec)


def publish(ws: Workspace, spec: FeatureGroupSpec, writer: RunWriter) -> None:
    """Register a finished writer's runs (after the ingestion's commit)."""
    files = writer.finish()
    if files:
        store = online_store(ws)
        assert isinstance(store, TakesRuns)  # the writer came from this store (`start_stage`)
        store.add_runs(spec.name, files)
        writer.files = []  # registered: no longer the writer's to discard


def apply_parquet_runs(ws: Workspace, spec: FeatureGroupSpec, source: str | BinaryIO) -> bool:
    """Re-apply an offline Parquet file as runs; False (having read nothing) when the store
    takes no runs."""
    writer = start_stage(ws, spec)
    if writer is None:
        return False
    try:
        for table in parquet_tables(source):
            writer.add(table)
        publish(ws, spec, writer)
    finally:
        writer.discard()
    return True


def repair_online(ws: Workspace, grp: FeatureGroup) -> int:
    """Re-apply committed ingestions whose online upsert was interrupted; returns how many."""
    fixed = 0
    for ing in ingestions(ws, grp):
        if ing.online_applied or ing.digest is None or not grp.spec.online:
            continue
        with ws.artifacts.open(ing.digest) as parquet:  # the store reads it, wherever it lives
            if not apply_parquet_runs(ws, grp.spec, parquet):  # False before reading a byte
                apply_parquet(ws, grp.spec, parquet)
        mark_online_applied(ws, ing.id)
        fixed += 1
    return fixed
