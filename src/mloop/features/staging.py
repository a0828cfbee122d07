"""Validating a file block by block into a staging Parquet file, its rejects into quarantine.

An ingest stages a file before anything is visible (`ingest`); a repair re-stages the source of
a damaged offline file the same way, with the original ingestion's time (`verify.rebuild`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import did_you_mean
from mloop.features import ingest_source as src
from mloop.features.errors import IngestRejected
from mloop.features.ingest_report import IdCounter, IngestReport, Quarantine
from mloop.features.schema import ROW_COLUMN, FeatureGroup
from mloop.features.validate import arrow_schema, validate
from mloop.store.leases import pid_alive

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.ingest_source import RawBatch
    from mloop.features.online.runs import RunWriter
    from mloop.store import Workspace

Progress = Callable[[int, int], None]  # (rows done, bytes done)


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


def stage_file(ws: Workspace, path: Path, group: FeatureGroup, quarantine: Quarantine,
               staging: Path, progress: Progress | None, online: RunWriter | None,
               report: IngestReport, now: datetime | None = None) -> tuple[int, int]:
    """Write validated rows to `staging` (and to the online run writer); returns (rows seen, rows kept).

    A writer thread encodes block N to Parquet (and hands it to the run writer) while this
    thread validates block N+1: both mostly run outside the GIL, so the two cores share the
    work (the Parquet encoding was ~30% of an ingest). At most two blocks are in memory.
    """
    import pyarrow.parquet as pq

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


def _sweep_stale(tmp: Path) -> None:
    """Remove staging files left by killed ingests and flushes (their pid is gone)."""
    for path in tmp.glob("*-*-*.parquet"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def staging_paths(ws: Workspace, group: str) -> tuple[Path, Path]:
    """A new staging Parquet path under .mloop/tmp and a quarantine path for `group`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    tmp = ws.state_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    _sweep_stale(tmp)
    staging = tmp / f"ingest-{os.getpid()}-{os.urandom(4).hex()}.parquet"
    quarantine = ws.state_dir / "quarantine" / f"{group}-{stamp}-{os.urandom(3).hex()}.csv"
    return staging, quarantine
