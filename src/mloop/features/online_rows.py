"""Above the online waist: turning Arrow tables into store rows, and `get_online`.

Values are stored as JSON objects (timestamps as ISO 8601 text in UTC), so a lookup is one
key read plus one `json.loads` per id; rows of SQLite's runs come back already decoded, with
the same values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from mloop.features.schema import FeatureGroupSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.online import Row
    from mloop.store import Workspace


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


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


def apply_parquet(ws: Workspace, spec: FeatureGroupSpec, source: str | BinaryIO) -> int:
    """Upsert every row of an offline Parquet file into the online store; returns rows.

    Building the rows of the next batch (DuckDB) overlaps with writing the current one (the
    store's client); both release the GIL, so the two cores work at once.
    """
    from concurrent.futures import ThreadPoolExecutor

    from mloop.features.online import online_store

    store = online_store(ws)
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="mloop-online-rows") as pool:
        pending = None
        for table in parquet_tables(source):
            future = pool.submit(rows_from_table, spec, table)
            if pending is not None:
                store.put(spec.name, pending.result())
            pending = future
            done += table.num_rows
        if pending is not None:
            store.put(spec.name, pending.result())
    return done


def record_row(spec: FeatureGroupSpec, record: dict[str, Any]) -> Row:
    """A store row from one normalized record (see `validate.check_record`)."""
    import orjson

    stamp: datetime = record[spec.event_time]
    body = {k: (v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v)
            for k, v in record.items()}
    ts = (stamp - _EPOCH) // timedelta(microseconds=1)  # exact integer µs
    return str(record[spec.record_identifier]), ts, orjson.dumps(body).decode()


def get_online(
    ws: Workspace, group: str, ids: Iterable[Hashable], features: Sequence[str] | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """The newest record of each id from the online store.

    Args:
        group: the feature group.
        ids: record identifiers (as given; returned keys are the same objects).
        features: feature names to return (all when None).

    Returns:
        `{id: {feature: value}}` for the ids found; ids never written are absent.
        Timestamps come back as ISO 8601 text in UTC.

    Raises:
        FeatureGroupNotFound: unknown group. InvalidInput: unknown feature name.
    """
    from mloop.features.groups import cached_group
    from mloop.features.online import online_store

    spec = cached_group(ws, group).spec
    _publish_pending(ws, group)
    if features is not None:
        for name in features:
            spec.feature(name)  # raises with did_you_mean
    id_list = list(ids)
    keys = [str(i) for i in id_list]
    found = online_store(ws).get(group, keys)
    out: dict[Hashable, dict[str, Any]] = {}
    for ident, key in zip(id_list, keys, strict=True):
        values = found.get(key)
        if values is None:
            continue
        out[ident] = values if features is None else {f: values.get(f) for f in features}
    return out



_checked: dict[tuple[str, str], float] = {}
_CHECK_EVERY = 5.0  # seconds; as long as the group cache lives


def _publish_pending(ws: Workspace, group: str) -> None:
    """Publish ingestions committed offline whose online step a crash cut off.

    Checked when a process first reads the group and again every few seconds (one indexed
    query), so a kill just after an ingest's commit costs one re-apply, never missing rows.
    """
    import time

    key = (ws.settings.database_url, group)
    last = _checked.get(key)
    if last is not None and time.monotonic() - last < _CHECK_EVERY:
        return
    from mloop.features.groups import get_group, has_unpublished
    from mloop.features.ingest import repair_online

    grp = get_group(ws, group)
    if grp.spec.online and has_unpublished(ws, grp):
        repair_online(ws, grp)
    _checked[key] = time.monotonic()
