"""A group's offline rows as DuckDB sees them: a connection that can read the artifact store,
the group's committed Parquet files, and a view over them with the columns that order records
(`SEQ`, the ingestion; `ROW_COLUMN`, the row in its file). `extract` and the point-in-time
join (`pit`) both read through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.features.schema import ROW_COLUMN, FeatureGroup
from mloop.features.sql import q
from mloop.features.tables import feature_ingestions as t
from mloop.features.validate import arrow_schema

if TYPE_CHECKING:
    import duckdb

    from mloop.store import Workspace

SEQ = "_mloop_seq"
FILE = "_mloop_file"


def connect(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC that can read the artifact store (fsspec for S3)."""
    import duckdb

    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    con.execute("SET TimeZone = 'UTC'")
    ws.artifacts.attach_duckdb(con)
    return con


def group_files(ws: Workspace, group: FeatureGroup) -> list[tuple[int, str]]:
    """(ingestion id, readable path) of every committed Parquet file of the group."""
    from sqlalchemy import select

    query = select(t.c.id, t.c.digest).where(t.c.group_id == group.id, t.c.digest.is_not(None))
    with ws.db.begin() as conn:
        rows = conn.execute(query.order_by(t.c.id)).all()
    seen: set[str] = set()
    out = []
    for seq, digest in rows:
        if digest in seen:  # a forced re-ingest of identical bytes adds no new rows
            continue
        seen.add(digest)
        out.append((seq, ws.artifacts.read_path(digest)))
    return out


def source_sql(con: duckdb.DuckDBPyConnection, ws: Workspace, group: FeatureGroup, name: str) -> str:
    """Register a view `name` over the group's rows with their ordering columns; returns it."""
    import pyarrow as pa

    files = group_files(ws, group)
    if not files:
        empty = arrow_schema(group.spec).empty_table().append_column(SEQ, pa.array([], pa.int64()))
        con.register(name, empty)
        return name
    con.register(f"{name}_files", pa.table({FILE: [p for _, p in files], SEQ: [s for s, _ in files]}))
    paths = ", ".join("'" + p.replace("'", "''") + "'" for _, p in files)
    cols = ", ".join(f"p.{q(c)}" for c in [*group.spec.names, ROW_COLUMN])
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT {cols}, m.{SEQ} FROM read_parquet([{paths}], "
        f"filename='{FILE}') p JOIN {name}_files m ON p.{FILE} = m.{FILE}"
    )
    return name


def damage_errors() -> tuple[type[Exception], ...]:
    """DuckDB's errors on an unreadable Parquet file (it raises several kinds, some untyped):
    readers that get one ask `raise_if_damaged` whether a damaged file is why."""
    import duckdb

    return (duckdb.Error,)
