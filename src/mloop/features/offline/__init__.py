"""The offline store: DuckDB over the group's immutable Parquet files (local or S3 via fsspec).

Each committed ingestion contributes one Parquet file; its ingestion id orders ingestions, and
`_mloop_row` orders rows within a file, so "the newest record" is well defined even when two
records of an id share an event time: the later-written one wins, here and in the online store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput
from mloop.features.groups import get_group
from mloop.features.offline.pit import training_set
from mloop.features.offline.source import SEQ, connect, damage_errors, group_files, source_sql
from mloop.features.records import flush_local
from mloop.features.schema import ROW_COLUMN, FeatureGroup
from mloop.features.sql import q
from mloop.features.verify import raise_if_damaged
from mloop.store.timestamps import as_utc

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

RECORDS = ("all", "latest")


def _columns(group: FeatureGroup, columns: Sequence[str] | None) -> list[str]:
    spec = group.spec
    if columns is None:
        return spec.names
    for name in columns:
        spec.feature(name)
    keep = [spec.record_identifier, spec.event_time]
    return keep + [c for c in columns if c not in keep]


def _as_of(value: Any) -> datetime | None:
    if value is None:
        return None
    stamp: Any = value
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(f"as_of '{value}' is not an ISO 8601 time") from exc
    if hasattr(stamp, "to_pydatetime"):
        stamp = stamp.to_pydatetime()
    if not isinstance(stamp, datetime):
        raise InvalidInput(f"as_of must be a datetime or ISO 8601 text, not {type(value).__name__}")
    return as_utc(stamp)


def extract(
    ws: Workspace, group: str, *, as_of: datetime | str | None = None,
    columns: Sequence[str] | None = None, where: str | None = None, history: bool = False,
    records: str | None = None,
) -> pd.DataFrame:
    """The group's records from the offline store.

    Args:
        group: the feature group.
        as_of: ignore events after this time (default: now, i.e. everything).
        columns: features to return (the id and event time always come along).
        where: a SQL filter over the features, applied to the result (e.g. "age > 30").
        records: "latest" (the newest record per id, the default) or "all" (every record, as
            SageMaker's offline store holds them: what training on repeated ids needs).
        history: the same as records="all" (kept for existing callers).

    Returns:
        A DataFrame ordered by id ("latest") or by event time, then ingestion, then row in the
        file ("all"): deterministic even when every event time is the ingest time.

    Raises:
        FeatureGroupNotFound; InvalidInput for an unknown column, bad `as_of`, `where` or `records`.
    """
    import duckdb

    if records is not None and records not in RECORDS:
        raise InvalidInput(f"records='{records}' is not one of: {', '.join(RECORDS)}",
                           hint='"all": every record; "latest": the newest record per id')
    history = history or records == "all"
    flush_local(ws, group)
    grp = get_group(ws, group)
    spec = grp.spec
    con = connect(ws)
    try:
        src = source_sql(con, ws, grp, "src")
        cols = ", ".join(q(c) for c in _columns(grp, columns))
        ident, ts = q(spec.record_identifier), q(spec.event_time)
        cutoff = _as_of(as_of)
        filt = f"WHERE {ts} <= $as_of" if cutoff else ""
        order = f"{ts}, {SEQ}, {ROW_COLUMN}"
        if history:
            inner = f"SELECT * FROM {src} {filt}"
        else:
            inner = (f"SELECT * FROM {src} {filt} QUALIFY row_number() OVER (PARTITION BY {ident} "
                     f"ORDER BY {ts} DESC, {SEQ} DESC, {ROW_COLUMN} DESC) = 1")
            order = ident
        sql = f"SELECT {cols} FROM ({inner}) WHERE {where or 'TRUE'} ORDER BY {order}"
        params = {"as_of": cutoff} if cutoff else {}
        try:
            return con.execute(sql, params).df()
        except (duckdb.BinderException, duckdb.ParserException, duckdb.ConversionException) as exc:
            raise InvalidInput(f"cannot extract from '{group}': {str(exc).splitlines()[0]}",
                               hint=f"Columns: {', '.join(spec.names)}") from exc
    except damage_errors():
        raise_if_damaged(ws, [grp])  # a damaged file: say which and how to repair; else the raw error
        raise
    finally:
        con.close()


def build_training_set(
    ws: Workspace, entities: pd.DataFrame, features: Sequence[str], *,
    id_column: str | None = None, time_column: str | None = None,
) -> pd.DataFrame:
    """Point-in-time correct join of entity rows with feature values (see `pit.py`)."""
    return training_set(ws, entities, features, id_column=id_column, time_column=time_column)


def offline_paths(ws: Workspace, group: str) -> list[str]:
    """The readable paths of the group's Parquet files (for tools that want raw files)."""
    return [p for _, p in group_files(ws, get_group(ws, group))]

