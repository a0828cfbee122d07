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
import csv
import hashlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.features.errors import IngestRejected
from mloop.features.schema import ROW_COLUMN, FeatureGroup

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.ingest_source import RawBatch
    from mloop.features.online.runs import RunWriter
    from mloop.store import Workspace

Progress = Callable[[int, int], None]  # (rows done, bytes done)
EXAMPLES = 5


@dataclass
class IngestReport:
    """What an ingest did; `skipped` when the same content was already ingested."""

    group: str
    source: str
    source_hash: str
    rows: int = 0
    ingested: int = 0
    rejected: int = 0
    skipped: bool = False
    data_version: int = 0
    quarantine: str | None = None
    digest: str | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    position: str = "line"  # what `line` in examples counts: CSV "line", Parquet "row_number"
    repaired: list[int] = field(default_factory=list)  # ingestions whose damaged file this rebuilt

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Quarantine:
    """Rejected rows: line, reason, original text; written to a .part file, renamed at the end."""

    def __init__(self, path: Path, position: str = "line") -> None:
        self.path = path
        self.position = position
        self.part = path.with_name(path.name + ".part")
        self._fh: Any = None
        self._writer: Any = None
        self.count = 0
        self.examples: list[dict[str, Any]] = []

    def add(self, line: int | None, reason: str, text: str) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.part, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._fh)
            self._writer.writerow([self.position, "reason", "row"])
        self._writer.writerow([line if line is not None else "", reason, text[:100_000]])
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append({"line": line, "reason": reason})

    def close(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        os.replace(self.part, self.path)
        return str(self.path)


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
             quarantine: _Quarantine) -> pa.Table:
    """Validate one raw batch: bad rows to quarantine, good rows returned (with row numbers)."""
    import numpy as np
    import pyarrow as pa

    from mloop.features.validate import validate

    table, problems = validate(group.spec, batch.columns, batch.n, now)
    bad = [(line, reason, text) for line, text, reason in batch.unparsable]
    bad += [(batch.line_of(int(i)), problems.reasons[int(i)], batch.text_of(int(i)))
            for i in np.flatnonzero(problems.bad)]
    for line, reason, text in sorted(bad, key=lambda b: (b[0] is None, b[0] or 0)):
        quarantine.add(line, reason, text)
    rows = pa.array(np.arange(first_row, first_row + batch.n, dtype=np.int64))
    table = table.append_column(ROW_COLUMN, rows)
    return table.filter(pa.array(~problems.bad)) if problems.bad.any() else table


def _stage(ws: Workspace, path: Path, group: FeatureGroup, quarantine: _Quarantine,
           staging: Path, progress: Progress | None, online: RunWriter | None = None,
           now: datetime | None = None) -> tuple[int, int]:
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
    seen = kept = done_bytes = 0
    pending: Future[None] | None = None
    with pq.ParquetWriter(staging, arrow_schema(group.spec), compression="snappy") as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="mloop-ingest-write") as pool:
        try:
            for batch in _batches(path, group):
                good = _process(batch, group, now, seen, quarantine)
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
    return seen, kept


def _decide(report: IngestReport, max_reject_ratio: float | None, path: Path) -> None:
    if report.rows == 0:
        raise IngestRejected(f"{path.name} has a header but no data rows; nothing to ingest",
                             hint="Check the export; an empty file is never ingested.")
    where = f" Rejected rows: {report.quarantine}" if report.quarantine else ""
    if report.ingested == 0:
        first = report.examples[0]["reason"] if report.examples else "?"
        raise IngestRejected(
            f"every row of {path.name} failed validation ({report.rejected} rows; first: {first}); "
            f"nothing was ingested.{where}",
            hint="Compare the file with `mloop features show GROUP`.")
    ratio = report.rejected / report.rows
    if max_reject_ratio is not None and ratio > max_reject_ratio:
        raise IngestRejected(
            f"{report.rejected} of {report.rows} rows ({ratio:.1%}) failed validation, more than "
            f"--max-reject-ratio {max_reject_ratio:.1%}; nothing was ingested.{where}",
            hint="Fix the rows listed in the quarantine file, or raise --max-reject-ratio.")


def ingest(
    ws: Workspace, path: str | Path, group: str, *, force: bool = False,
    max_reject_ratio: float | None = None, progress: Progress | None = None,
) -> IngestReport:
    """Validate a CSV/Parquet file and add its rows to a feature group (offline and online).

    Args:
        path: the file (CSV with a header, or Parquet).
        group: the feature group's name.
        force: ingest even when this exact content was ingested before.
        max_reject_ratio: fail when more than this share of rows is rejected (default: fail
            only when every row is).
        progress: called with (rows, bytes) after each block.

    Returns:
        An `IngestReport` (counts, quarantine path, example reasons, new data version).

    Raises:
        FeatureGroupNotFound, InvalidInput (no such file), IngestRejected (unreadable file,
        wrong columns, no rows, too many rejects). Nothing is written when it raises.
    """
    import time

    from mloop.features.groups import find_ingestion, get_group

    started = time.perf_counter()
    grp = get_group(ws, group)
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no file at {path}", hint="Check the path.")
    repair_online(ws, grp)  # finish an ingestion whose online upsert was killed
    source_hash = file_hash(path)
    report = IngestReport(group=group, source=str(path), source_hash=source_hash)
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
    report = _run(ws, path, grp, report, force, max_reject_ratio, progress)
    report.seconds = time.perf_counter() - started
    return report


def _sweep_stale(tmp: Path) -> None:
    """Remove staging files left by killed ingests and flushes (their pid is gone)."""
    from mloop.store.locks import pid_alive

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
    quarantine = _Quarantine(qpath, report.position)
    online = start_stage(ws, grp.spec)
    try:
        try:
            report.rows, report.ingested = _stage(ws, path, grp, quarantine, staging, progress, online, now)
            if online is not None:
                online.finish()  # sorted and synced before the commit
        finally:
            report.quarantine = quarantine.close()
        report.rejected, report.examples = quarantine.count, quarantine.examples
        _decide(report, max_reject_ratio, path)
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
        path = ws.artifacts.fs_path(ing.digest)
        if not apply_parquet_runs(ws, grp.spec, path, fs=ws.artifacts.fs):
            apply_parquet(ws, grp.spec, path, fs=ws.artifacts.fs)
        mark_online_applied(ws, ing.id)
        fixed += 1
    return fixed
