"""Validated, streaming, idempotent ingest of a CSV or Parquet file into a feature group.

Order of work, chosen so a kill -9 at any point leaves the group as it was or fully updated:
hash the file (skip if that content was ingested) -> validate block by block into a local
staging Parquet file, a quarantine file and (SQLite online store) sorted online runs -> store
the Parquet in the artifact store (content-addressed, invisible until referenced) -> one
metadata transaction records the ingestion and bumps the data version -> publish online
(register the runs, or upsert Redis) and mark it applied. An ingestion whose online update was
interrupted is re-applied by the next ingest or flush (newest-wins makes that idempotent).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mloop.errors import InvalidInput
from mloop.features.deletion import delete_group
from mloop.features.groups import commit_ingestion, find_ingestion, get_group, mark_online_applied
from mloop.features.ingest_group import group_for_file
from mloop.features.ingest_report import IngestReport, Quarantine, decide, file_hash
from mloop.features.ingest_source import is_parquet
from mloop.features.online.stage import publish, repair_online, start_stage
from mloop.features.online.write import apply_parquet
from mloop.features.staging import Progress, stage_file, staging_paths
from mloop.features.verify import repair_from

if TYPE_CHECKING:
    from mloop.features.schema import FeatureGroup
    from mloop.store import Workspace

__all__ = ["IngestReport", "Progress", "file_hash", "ingest"]


def ingest(
    ws: Workspace, path: str | Path, group: str, *, force: bool = False,
    max_reject_ratio: float | None = None, progress: Progress | None = None,
    id_column: str | None = None, event_time: str | None = None,
) -> IngestReport:
    """Validate a CSV/Parquet file and add its rows to a feature group (offline and online).

    Args:
        path: the file (CSV with a header, or Parquet).
        group: the feature group's name; created from the file (schema inferred) when it does
            not exist and `id_column` is given, else the file must fit it.
        id_column, event_time: the record id and event-time columns (for creating the group).
        force: ingest even when this exact content was ingested before.
        max_reject_ratio: refuse the file when more than this share of rows is rejected
            (default 5%; a file whose every row fails is always refused).
        progress: called with (rows, bytes) after each block.

    Returns:
        An `IngestReport` (counts, quarantine path, example reasons, new data version).

    Raises:
        FeatureGroupNotFound, InvalidInput (no such file), IngestRejected (unreadable file,
        columns or types that do not fit the group, no rows, too many rejects). Nothing is
        written when it raises (a group it created is deleted again).
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no file at {path}", hint="Check the path.")
    grp, created = group_for_file(ws, path, group, id_column, event_time)
    try:
        report = _ingest_into(ws, path, grp, force, max_reject_ratio, progress)
    except BaseException:
        if created:
            delete_group(ws, grp.name)
        raise
    report.created_group = created
    report.seconds = time.perf_counter() - started
    return report


def _ingest_into(ws: Workspace, path: Path, grp: FeatureGroup, force: bool,
                 max_reject_ratio: float | None, progress: Progress | None) -> IngestReport:
    group = grp.name
    repair_online(ws, grp)  # finish an ingestion whose online upsert was killed
    source_hash = file_hash(path)
    report = IngestReport(group=group, source=str(path), source_hash=source_hash,
                          event_time_column=grp.spec.event_time)
    previous = find_ingestion(ws, grp, source_hash)
    if previous is not None and force:
        report.repaired = repair_from(ws, grp, path, source_hash)
        if report.repaired:  # forcing the source of a damaged file rebuilds that file in place
            previous = find_ingestion(ws, grp, source_hash)
            force = False  # and adds no second copy of its rows
    if previous is not None and not force:
        report.skipped, report.rows, report.ingested = True, previous.rows + previous.rejected, previous.rows
        report.data_version, report.digest = grp.data_version, previous.digest
        return report
    return _run(ws, path, grp, report, force, max_reject_ratio, progress)


def _run(ws: Workspace, path: Path, grp: FeatureGroup, report: IngestReport, force: bool,
         max_reject_ratio: float | None, progress: Progress | None) -> IngestReport:
    staging, qpath = staging_paths(ws, grp.name)
    now = datetime.now(UTC)  # fills missing event times; kept as the ingestion's time (a rebuild reuses it)
    report.position = "row_number" if is_parquet(path) else "line"
    quarantine = Quarantine(qpath, report.position)
    online = start_stage(ws, grp.spec)
    try:
        try:
            report.rows, report.ingested = stage_file(ws, path, grp, quarantine, staging, progress, online, report, now)
            if online is not None:
                online.finish()  # sorted and synced before the commit
        finally:
            report.quarantine = quarantine.close()
        report.rejected, report.examples = quarantine.count, quarantine.examples
        report.reasons = quarantine.top_reasons()
        decide(report, max_reject_ratio, path)
        report.digest = ws.artifacts.put(staging)
        committed = commit_ingestion(
            ws, grp, kind="file", source=str(path)[:1000], source_hash=report.source_hash,
            dedupe_key=None if force else report.source_hash, digest=report.digest,
            rows=report.ingested, rejected=report.rejected, quarantine=report.quarantine, created_at=now)
        if committed is None:  # a concurrent ingest of the same content won the race
            report.skipped = True
            report.data_version = get_group(ws, grp.name).data_version
            return report
        ingestion_id, report.data_version = committed
        if online is not None:
            publish(ws, grp.spec, online)
            mark_online_applied(ws, ingestion_id)
        elif grp.spec.online:
            apply_parquet(ws, grp.spec, str(staging))
            mark_online_applied(ws, ingestion_id)
        return report
    finally:
        staging.unlink(missing_ok=True)
        if online is not None:
            online.discard()
