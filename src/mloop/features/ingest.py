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

import contextlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.features.errors import IngestRejected
from mloop.features.ingest_report import IdCounter, IngestReport, Quarantine, decide, file_hash
from mloop.features.schema import ROW_COLUMN, FeatureGroup

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.ingest_source import RawBatch
    from mloop.features.online.runs import RunWriter
    from mloop.store import Workspace

Progress = Callable[[int, int], None]  # (rows done, bytes done)
__all__ = ["IngestReport", "file_hash", "ingest", "repair_online"]


def _check_columns(path: Path, columns: list[str], group: FeatureGroup) -> None:
    spec = group.spec
    missing = [n for n in spec.names if n not in columns and n != spec.event_time]
    extra = [c for c in columns if c not in spec.names]
    if missing:
        raise IngestRejected(
            f"{path.name} lacks column(s) {', '.join(missing)} of group '{spec.name}' "
            f"(file has: {', '.join(columns)})",
            hint=f"Add the column(s), or create a group matching the file "
            f"(`mloop features create NAME --from-csv {path.name} --id COL`).")
    if extra:
        raise IngestRejected(
            f"{path.name} has column(s) {', '.join(extra)} that group '{spec.name}' does not define",
            hint="Drop them from the file, or create a group that declares them; nothing was ingested. "
            + did_you_mean(extra[0], spec.names))


def _batches(path: Path, group: FeatureGroup) -> Any:
    from mloop.features import ingest_source as src

    if src.is_parquet(path):
        _check_columns(path, src.parquet_columns(path), group)
        return src.parquet_batches(path)
    names, header_bytes = src.read_header(path)
    _check_columns(path, names, group)
    return src.csv_batches(path, names, header_bytes)


def _process(batch: RawBatch, group: FeatureGroup, now: datetime, first_row: int,
             quarantine: Quarantine, report: IngestReport, ids: IdCounter) -> pa.Table:
    """Validate one raw batch: bad rows to quarantine, good rows returned (with row numbers)."""
    import numpy as np
    import pyarrow as pa

    from mloop.features.validate import validate

    table, problems = validate(group.spec, batch.columns, batch.n, now)
    bad = [(line, reason, text, reason.split(",")[0]) for line, text, reason in batch.unparsable]
    bad += [(batch.line_of(int(i)), problems.reasons[int(i)], batch.text_of(int(i)), problems.kinds[int(i)])
            for i in np.flatnonzero(problems.bad)]
    for line, reason, text, kind in sorted(bad, key=lambda b: (b[0] is None, b[0] or 0)):
        quarantine.add(line, reason, text, kind)
    rows = pa.array(np.arange(first_row, first_row + batch.n, dtype=np.int64))
    table = table.append_column(ROW_COLUMN, rows)
    good = table.filter(pa.array(~problems.bad)) if problems.bad.any() else table
    ids.add(good.column(group.spec.record_identifier).combine_chunks())
    if problems.filled_event_times:
        import pyarrow.compute as pc

        event = good.column(group.spec.event_time)
        report.event_time_from_ingest += int(pc.sum(pc.equal(event, pa.scalar(now, event.type))).as_py() or 0)
    return good


def _stage(ws: Workspace, path: Path, group: FeatureGroup, quarantine: Quarantine,
           staging: Path, progress: Progress | None, online: RunWriter | None,
           report: IngestReport, now: datetime | None = None) -> tuple[int, int]:
    """Write validated rows to `staging` (and to the online run writer); returns (rows seen, rows kept).

    A writer thread encodes block N to Parquet (and hands it to the run writer) while this
    thread validates block N+1: both mostly run outside the GIL, so the two cores share the
    work (the Parquet encoding was ~30% of an ingest). At most two blocks are in memory.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    import pyarrow.parquet as pq

    from mloop.features.validate import arrow_schema

    def write(good: pa.Table) -> None:
        writer.write_table(good, row_group_size=256_000)
        if online is not None:
            online.add(good)

    now = now or datetime.now(UTC)  # a rebuild passes the original ingestion's time (missing event times)
    ids = IdCounter()
    seen = kept = done_bytes = 0
    pending: Future[None] | None = None
    with pq.ParquetWriter(staging, arrow_schema(group.spec), compression="snappy") as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="mloop-ingest-write") as pool:
        try:
            for batch in _batches(path, group):
                good = _process(batch, group, now, seen, quarantine, report, ids)
                seen += batch.n + len(batch.unparsable)
                kept += good.num_rows
                done_bytes += batch.bytes_read
                if good.num_rows:
                    if pending is not None:
                        pending.result()  # in order, and re-raises the writer's error
                    pending = pool.submit(write, good)
                if progress:
                    progress(seen, done_bytes)
        except BaseException:
            if pending is not None:  # let the write finish; the error to report is this one
                with contextlib.suppress(Exception):
                    pending.result()
            raise
        if pending is not None:
            pending.result()
    ids.fill(report)
    return seen, kept


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
    import time

    from mloop.features.groups import delete_group
    from mloop.features.ingest_group import group_for_file

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
    from mloop.features.groups import find_ingestion

    group = grp.name
    repair_online(ws, grp)  # finish an ingestion whose online upsert was killed
    source_hash = file_hash(path)
    report = IngestReport(group=group, source=str(path), source_hash=source_hash,
                          event_time_column=grp.spec.event_time)
    previous = find_ingestion(ws, grp, source_hash)
    if previous is not None and force:
        from mloop.features.verify import repair_from

        report.repaired = repair_from(ws, grp, path, source_hash)
        if report.repaired:  # forcing the source of a damaged file rebuilds that file in place
            previous = find_ingestion(ws, grp, source_hash)
            force = False  # and adds no second copy of its rows
    if previous is not None and not force:
        report.skipped, report.rows, report.ingested = True, previous.rows + previous.rejected, previous.rows
        report.data_version, report.digest = grp.data_version, previous.digest
        return report
    return _run(ws, path, grp, report, force, max_reject_ratio, progress)


def _sweep_stale(tmp: Path) -> None:
    """Remove staging files left by killed ingests and flushes (their pid is gone)."""
    from mloop.store.leases import pid_alive

    for path in tmp.glob("*-*-*.parquet"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def _staging_paths(ws: Workspace, group: str) -> tuple[Path, Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    tmp = ws.state_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    _sweep_stale(tmp)
    staging = tmp / f"ingest-{os.getpid()}-{os.urandom(4).hex()}.parquet"
    quarantine = ws.state_dir / "quarantine" / f"{group}-{stamp}-{os.urandom(3).hex()}.csv"
    return staging, quarantine


def _run(ws: Workspace, path: Path, grp: FeatureGroup, report: IngestReport, force: bool,
         max_reject_ratio: float | None, progress: Progress | None) -> IngestReport:
    from mloop.features.groups import commit_ingestion, get_group, mark_online_applied
    from mloop.features.ingest_source import is_parquet
    from mloop.features.online_rows import apply_parquet
    from mloop.features.online_stage import publish, start_stage

    staging, qpath = _staging_paths(ws, grp.name)
    now = datetime.now(UTC)  # fills missing event times; kept as the ingestion's time (a rebuild reuses it)
    report.position = "row_number" if is_parquet(path) else "line"
    quarantine = Quarantine(qpath, report.position)
    online = start_stage(ws, grp.spec)
    try:
        try:
            report.rows, report.ingested = _stage(ws, path, grp, quarantine, staging, progress, online, report, now)
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


def repair_online(ws: Workspace, grp: FeatureGroup) -> int:
    """Re-apply committed ingestions whose online upsert was interrupted; returns how many."""
    from mloop.features.groups import ingestions, mark_online_applied
    from mloop.features.online_rows import apply_parquet
    from mloop.features.online_stage import apply_parquet_runs

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
