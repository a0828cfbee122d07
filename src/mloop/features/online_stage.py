"""Online rows of an ingestion, built while it validates and published after its commit.

With the SQLite online store, each validated block goes to a `RunWriter`, which sorts the
rows into run files (`online.runs`) before the metadata commit; publishing after the commit
registers them in one transaction, so no row-by-row upsert sits on the ingest's critical path.
A crash before the commit leaves unregistered files (swept by the next writer); a crash after
it leaves the ingestion marked "online not applied", and the next ingest or flush re-applies it
from the immutable Parquet file (`ingest.repair_online`).

Other stores (Redis) have no runs: `start_stage` returns None and the ingest upserts the
committed Parquet file row by row (`online_rows.apply_parquet`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from mloop.features.online.runs import RunWriter
    from mloop.features.schema import FeatureGroupSpec
    from mloop.store import Workspace


def start_stage(ws: Workspace, spec: FeatureGroupSpec) -> RunWriter | None:
    """A run writer when the group is online and its store takes runs (SQLite), else None."""
    from mloop.features.online import TakesRuns, online_store

    store = online_store(ws)
    if not spec.online or not isinstance(store, TakesRuns):
        return None
    return store.run_writer(spec)


def publish(ws: Workspace, spec: FeatureGroupSpec, writer: RunWriter) -> None:
    """Register a finished writer's runs (after the ingestion's commit)."""
    from mloop.features.online import TakesRuns, online_store

    files = writer.finish()
    if files:
        store = online_store(ws)
        assert isinstance(store, TakesRuns)  # the writer came from this store (`start_stage`)
        store.add_runs(spec.name, files)
        writer.files = []  # registered: no longer the writer's to discard


def apply_parquet_runs(ws: Workspace, spec: FeatureGroupSpec, source: str | BinaryIO) -> bool:
    """Re-apply an offline Parquet file as runs; False (having read nothing) when the store
    takes no runs."""
    from mloop.features.online_rows import parquet_tables

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
