"""What an ingest tells its user: counts, quarantine, reasons, repeated ids, the event-time source.

Kept apart from the ingest machinery (`ingest.py`) so the facts a user reads are in one place:
the quarantine file and its reason counts, the per-id repetition count, and the decision to
refuse a file whose reject ratio is over the limit.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.features.errors import IngestRejected

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

EXAMPLES = 5
TOP_REASONS = 3
#: refuse a file when more than this share of its rows would be quarantined (`--max-reject-ratio`)
DEFAULT_MAX_REJECT_RATIO = 0.05


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
    reasons: list[dict[str, Any]] = field(default_factory=list)  # most common first: reason, rows, line
    seconds: float = 0.0
    position: str = "line"  # what `line` in examples counts: CSV "line", Parquet "row_number"
    distinct_ids: int = 0
    repeated_ids: int = 0  # ids with more than one row in the file
    rows_with_repeated_id: int = 0  # rows that share their id with another row of the file
    event_time_column: str = ""
    event_time_from_ingest: int = 0  # rows without an event time: they got the ingest time
    created_group: bool = False  # the group did not exist: its schema was inferred from the file
    repaired: list[int] = field(default_factory=list)  # ingestions whose damaged file this rebuilt

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}

    def notes(self) -> list[str]:
        """The facts about ids and event times a user should read before training on the group."""
        out = []
        if self.repeated_ids:
            out.append(f"{self.rows_with_repeated_id:,} of {self.ingested:,} rows share their id with "
                       f"another row: {self.repeated_ids:,} of {self.distinct_ids:,} ids repeat. Training "
                       f"reads every record by default (records=\"all\"); records=\"latest\" keeps the "
                       f"newest per id.")
        if self.event_time_from_ingest:
            whole = self.event_time_from_ingest == self.ingested
            what = "the file has no event-time value" if whole else (
                f"{self.event_time_from_ingest:,} rows have no event-time value")
            out.append(f"{what} ('{self.event_time_column}'): those rows got the ingest time, ordered by "
                       f"their row in the file (ingest time, then row order).")
        return out


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Quarantine:
    """Rejected rows: line, reason, original text; written to a .part file, renamed at the end."""

    def __init__(self, path: Path, position: str = "line") -> None:
        self.path = path
        self.position = position
        self.part = path.with_name(path.name + ".part")
        self._fh: Any = None
        self._writer: Any = None
        self.count = 0
        self.examples: list[dict[str, Any]] = []
        self.kinds: Counter[str] = Counter()
        self.first_line: dict[str, int | None] = {}

    def add(self, line: int | None, reason: str, text: str, kind: str = "") -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.part, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._fh)
            self._writer.writerow([self.position, "reason", "row"])
        self._writer.writerow([line if line is not None else "", reason, text[:100_000]])
        self.count += 1
        kind = kind or reason
        self.kinds[kind] += 1
        self.first_line.setdefault(kind, line)
        if len(self.examples) < EXAMPLES:
            self.examples.append({"line": line, "reason": reason})

    def top_reasons(self, n: int = TOP_REASONS) -> list[dict[str, Any]]:
        return [{"reason": kind, "rows": rows, "line": self.first_line.get(kind)}
                for kind, rows in self.kinds.most_common(n)]

    def close(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        os.replace(self.part, self.path)
        return str(self.path)


class IdCounter:
    """How often each record id occurs in a file: 8 bytes per row (ids are hashed to uint64)."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def add(self, ids: pa.Array) -> None:
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        if pa.types.is_integer(ids.type):
            self._parts.append(np.asarray(ids.to_numpy(zero_copy_only=False), dtype=np.int64).view(np.uint64))
        else:
            self._parts.append(pd.util.hash_array(np.asarray(ids.to_pylist(), dtype=object)))

    def fill(self, report: IngestReport) -> None:
        import numpy as np

        if not self._parts:
            return
        _, counts = np.unique(np.concatenate(self._parts), return_counts=True)
        repeated = counts > 1
        report.distinct_ids = len(counts)
        report.repeated_ids = int(repeated.sum())
        report.rows_with_repeated_id = int(counts[repeated].sum())


def decide(report: IngestReport, max_reject_ratio: float | None, path: Path) -> None:
    """Refuse the file (nothing is committed) when it has no rows or too many rejects."""
    if report.rows == 0:
        raise IngestRejected(f"{path.name} has a header but no data rows; nothing to ingest",
                             hint="Check the export; an empty file is never ingested.")
    where = f"\nrejected rows with their reasons: {report.quarantine}" if report.quarantine else ""
    limit = DEFAULT_MAX_REJECT_RATIO if max_reject_ratio is None else max_reject_ratio
    ratio = report.rejected / report.rows
    if report.ingested and ratio <= limit:
        return
    unit = "row" if report.position == "row_number" else "line"
    lines = "".join(f"\n  {r['rows']:,} row{'s' if r['rows'] != 1 else ''}: {r['reason']} "
                    f"(first at {unit} {r['line'] or '?'})"
                    for r in report.reasons)
    what = ("every row" if not report.ingested else
            f"{ratio:.1%}, more than the {limit:.0%} allowed by --max-reject-ratio")
    raise IngestRejected(
        f"{report.rejected:,} of {report.rows:,} rows of {path.name} failed validation ({what}); "
        f"nothing was ingested. Most common reasons:{lines}{where}",
        hint="Fix those rows or the group's schema (`mloop features show GROUP`), or accept the loss "
        "with --max-reject-ratio (e.g. 0.2).")
