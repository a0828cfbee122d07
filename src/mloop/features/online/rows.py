"""Encoding store rows: Arrow tables (an ingest's blocks, offline Parquet files) and single
records (`put_records`) become (id, event time µs, JSON) rows for any backend.

Values are stored as JSON objects (timestamps as ISO 8601 text in UTC), so a lookup is one
key read plus one `json.loads` per id; rows of SQLite's runs come back already decoded, with
the same values.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from mloop.features.schema import FeatureGroupSpec
from mloop.features.sql import q

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.online.base import Row


def _json_expr(spec: FeatureGroupSpec) -> str:
    parts = []
    for f in spec.features:
        col = q(f.name)
        if f.type == "timestamp":
            expr = f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00'"
        elif f.type == "float":
            expr = f"CASE WHEN isnan({col}) OR isinf({col}) THEN NULL ELSE {col} END"
        else:
            expr = col
        parts.append(f"{q(f.name)} := {expr}")
    return f"to_json(struct_pack({', '.join(parts)}))"


def rows_from_table(spec: FeatureGroupSpec, table: pa.Table) -> list[Row]:
    """(id, event time µs, JSON) per row, in row order, built vectorized in DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        sql = (f"SELECT CAST({q(spec.record_identifier)} AS VARCHAR), epoch_us({q(spec.event_time)}), "
               f"CAST({_json_expr(spec)} AS VARCHAR) FROM t")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def parquet_tables(source: str | BinaryIO) -> Iterator[pa.Table]:
    """An offline Parquet file (a local path, or an open artifact) as tables of up to 100k rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pre_buffer=False: with it, pyarrow keeps every row group it read (RSS grows with the file)
    pf = pq.ParquetFile(source, pre_buffer=False)
    for batch in pf.iter_batches(batch_size=100_000, use_threads=False):
        yield pa.Table.from_batches([batch])


def record_row(spec: FeatureGroupSpec, record: dict[str, Any]) -> Row:
    """A store row from one normalized record (see `validate.check_record`)."""
    import orjson

    stamp: datetime = record[spec.event_time]
    body = {k: (v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v)
            for k, v in record.items()}
    ts = (stamp - _EPOCH) // timedelta(microseconds=1)  # exact integer µs
    return str(record[spec.record_identifier]), ts, orjson.dumps(body).decode()
