"""Reading ingest sources in bounded chunks: CSV (with original line numbers) and Parquet.

CSV is cut into blocks of whole lines (16 MB by default) that pyarrow parses with every column
as raw bytes; typing happens later, in `validate`, so a bad value costs one row, not the file.
Memory stays bounded by the block size whatever the file size. Line numbers are recovered
lazily, only for blocks that hold bad rows (a quoted value spanning lines makes them unknown).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mloop.features.errors import IngestRejected

if TYPE_CHECKING:
    import pyarrow as pa

BLOCK = 16 << 20
MAX_LINE = 256 << 20
NULLS = ["", "NA", "N/A", "NULL", "null", "None", "nan", "NaN"]


@dataclass
class RawBatch:
    """Rows of one block as raw columns, plus how to find each row's line and text."""

    columns: dict[str, pa.Array]
    n: int
    bytes_read: int
    unparsable: list[tuple[int | None, str, str]] = field(default_factory=list)
    _chunk: bytes | None = None
    _first_line: int = 0
    _first_row: int | None = None  # Parquet: rows are numbered from 1, there are no lines
    _invalid_texts: list[str] = field(default_factory=list)
    _lines: list[tuple[int, str]] | None = None

    def _map(self) -> list[tuple[int, str]]:
        """(line number, text) of each parsed row, or [] when the mapping is ambiguous."""
        if self._lines is not None:
            return self._lines
        self._lines = []
        if self._chunk is None:
            return self._lines
        raw_lines = self._chunk.split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        pending = list(self._invalid_texts)
        rows: list[tuple[int, str]] = []
        for offset, raw in enumerate(raw_lines):
            text = raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace")
            if not text:
                continue
            if pending and text == pending[0]:
                pending.pop(0)
                continue
            rows.append((self._first_line + offset, text))
        if len(rows) == self.n and not pending:
            self._lines = rows
        return self._lines

    def line_of(self, i: int) -> int | None:
        if self._first_row is not None:
            return self._first_row + i
        rows = self._map()
        return rows[i][0] if rows else None

    def text_of(self, i: int) -> str:
        rows = self._map()
        if rows:
            return rows[i][1]
        return ",".join(_cell(col[i].as_py()) for col in self.columns.values())


def _cell(value: bytes | str | None) -> str:
    if value is None:
        return ""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def read_header(path: Path) -> tuple[list[str], int]:
    """The CSV header's column names and its length in bytes.

    Raises:
        IngestRejected: empty file, undecodable or malformed header.
    """
    with open(path, "rb") as fh:
        first = fh.readline(MAX_LINE)
    if not first.strip():
        raise IngestRejected(f"{path} is empty: expected a header line with column names",
                             hint="Export the file again with a header row.")
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise IngestRejected(f"{path}: the header line is not UTF-8 ({exc.reason} at byte {exc.start})",
                             hint="Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`).") from exc
    names = next(csv.reader([text]))
    names = [n.strip() for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or "" in names:
        raise IngestRejected(f"{path}: header has duplicate or empty column names: {dupes or ['']}")
    return names, len(first)


def _blocks(path: Path, start: int, block: int) -> Iterator[tuple[bytes, int]]:
    """Chunks of whole lines, with the number of newlines before each chunk."""
    newlines = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        rest = b""
        while True:
            data = fh.read(block)
            if not data:
                if rest:
                    yield rest + b"\n", newlines
                return
            buf = rest + data
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) > MAX_LINE:
                    raise IngestRejected(
                        f"{path}: line {newlines + 2} is longer than {MAX_LINE >> 20} MB",
                        hint="Split or clean the file; nothing was ingested.")
                rest = buf
                continue
            chunk, rest = buf[: cut + 1], buf[cut + 1 :]
            yield chunk, newlines
            newlines += chunk.count(b"\n")


def _parse(chunk: bytes, names: list[str], invalid: list[str]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def handler(row: pcsv.InvalidRow) -> str:
        if row.text.strip():
            invalid.append(row.text)
        return "skip"

    convert = pcsv.ConvertOptions(
        column_types={n: pa.binary() for n in names}, strings_can_be_null=True,
        null_values=NULLS, quoted_strings_can_be_null=False,
    )
    for block_size in (4 << 20, len(chunk) + 1):
        invalid.clear()
        try:
            return pcsv.read_csv(
                pa.py_buffer(chunk),
                read_options=pcsv.ReadOptions(column_names=names, block_size=block_size),
                parse_options=pcsv.ParseOptions(invalid_row_handler=handler),
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) and "block size" not in str(exc):
                raise
    raise AssertionError("unreachable")


def csv_batches(
    path: Path, names: list[str], header_bytes: int, block: int | None = None
) -> Iterator[RawBatch]:
    """Raw batches of a CSV file after its header line."""
    import pyarrow as pa

    block = block or BLOCK
    for chunk, newlines_before in _blocks(path, header_bytes, block):
        invalid: list[str] = []
        try:
            table = _parse(chunk, names, invalid)
        except pa.ArrowInvalid as exc:
            raise IngestRejected(f"{path}: cannot parse CSV near line {newlines_before + 2}: {exc}",
                                 hint="Fix the quoting in that region; nothing was ingested.") from exc
        batch = RawBatch(
            columns={n: table.column(n).combine_chunks() for n in names}, n=table.num_rows,
            bytes_read=len(chunk), _chunk=chunk,
            _first_line=newlines_before + 2, _invalid_texts=list(invalid),
        )
        if invalid:
            batch.unparsable = _unparsable(batch, len(names))
        yield batch


def _unparsable(batch: RawBatch, width: int) -> list[tuple[int | None, str, str]]:
    """(line, text, reason) of rows pyarrow could not split into the header's columns."""
    assert batch._chunk is not None
    out: list[tuple[int | None, str, str]] = []
    pending = list(batch._invalid_texts)
    for offset, raw in enumerate(batch._chunk.split(b"\n")):
        text = raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace")
        if pending and text == pending[0]:
            cells = len(next(csv.reader([text]))) if text else 0
            out.append((batch._first_line + offset, text,
                        f"expected {width} columns, found {cells}"))
            pending.pop(0)
    out.extend((None, text, f"expected {width} columns") for text in pending)
    return out


def parquet_batches(path: Path, batch_rows: int = 65536) -> Iterator[RawBatch]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, pre_buffer=False)  # bounded memory, see online.rows.parquet_tables
    per_row = path.stat().st_size / max(1, pf.metadata.num_rows)
    first = 1
    for rb in pf.iter_batches(batch_size=batch_rows, use_threads=False):
        yield RawBatch(columns={n: rb.column(n) for n in rb.schema.names}, n=rb.num_rows,
                       bytes_read=round(rb.num_rows * per_row), _first_row=first)
        first += rb.num_rows


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


def sample_table(path: Path, sample_bytes: int) -> pa.Table:
    """The first rows of a CSV/Parquet file with inferred types (for `features create --from-csv`)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if is_parquet(path):
        pf = pq.ParquetFile(path)
        return pa.Table.from_batches([next(pf.iter_batches(batch_size=10000))])
    with open(path, "rb") as fh:
        data = fh.read(sample_bytes)
    if len(data) == sample_bytes and b"\n" in data:
        data = data[: data.rfind(b"\n") + 1]
    return pcsv.read_csv(
        pa.py_buffer(data),
        parse_options=pcsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pcsv.ConvertOptions(null_values=NULLS, strings_can_be_null=True),
    )
