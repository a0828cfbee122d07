"""The prediction log: what the live variant and each shadow predicted for the same requests.

Written by the model servers of an endpoint that has shadows (`runtime.shadow_tap`), one row per
record of each copied request and variant, paired by `request_id`; read by `mloop endpoints compare`
and by anyone who wants a shadow's answers (experiments, drift): `read_log`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mloop.store import Workspace


def append(ws: Workspace, endpoint: str, rows: list[dict[str, Any]], drops: dict[str, int]) -> None:
    """Write log rows and drop counts of `endpoint` in one transaction."""
    from sqlalchemy import insert  # where a query runs (see `records`)

    from mloop.serving.tables import prediction_log, shadow_drops

    with ws.db.begin() as conn:
        if rows:
            _insert_many(conn, prediction_log, endpoint, rows)
        if drops:
            at = rows[0]["at"] if rows else _now()
            conn.execute(insert(shadow_drops), [{"endpoint": endpoint, "variant": v, "at": at, "dropped": n}
                                                for v, n in drops.items()])


_COMPILED: dict[tuple[str, str], tuple[str, list[str], list[Any], bool]] = {}


def _insert_many(conn: Any, table: Any, endpoint: str, rows: list[dict[str, Any]]) -> None:
    """`INSERT` of many rows through the driver's executemany, with the statement compiled once.

    The worker thread shares the interpreter with the event loop answering callers, so its cost
    matters: SQLAlchemy's per-row parameter processing took ~200 us per logged request (measured),
    this ~15 us. Each column's bind processor (the dialect's own conversion, e.g. SQLite's datetime
    text) still applies, so the rows read back exactly as through `insert(table)`.
    """
    from sqlalchemy import insert

    key = (conn.dialect.name, table.name)
    if key not in _COMPILED:
        columns = [c.name for c in table.columns if not c.primary_key]
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=columns)
        order = list(compiled.positiontup or columns) if compiled.positional else columns
        processors = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in order]
        _COMPILED[key] = (str(compiled), order, processors, bool(compiled.positional))
    sql, order, processors, positional = _COMPILED[key]
    data = []
    for row in rows:
        row = {"endpoint": endpoint, **row}
        values = [f(row[c]) if f is not None else row[c] for c, f in zip(order, processors, strict=True)]
        data.append(tuple(values) if positional else dict(zip(order, values, strict=True)))
    conn.exec_driver_sql(sql, data)


def read_log(ws: Workspace, endpoint: str, since: datetime | None = None) -> list[dict[str, Any]]:
    """The log rows of `endpoint` (since `since`), oldest first: `request_id`, `row`, `variant`,
    `shadow`, `model_name`, `model_version`, `task`, `prediction`, `error`, `latency_ms`, `at`."""
    from sqlalchemy import select

    from mloop.serving.tables import prediction_log

    query = select(prediction_log).where(prediction_log.c.endpoint == endpoint)
    if since is not None:
        query = query.where(prediction_log.c.at >= since)
    with ws.db.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(prediction_log.c.id))]


def dropped(ws: Workspace, endpoint: str, since: datetime | None = None) -> dict[str, int]:
    """Request copies dropped per shadow variant (the queue was full), since `since`."""
    from sqlalchemy import func, select

    from mloop.serving.tables import shadow_drops

    d = shadow_drops
    query = select(d.c.variant, func.sum(d.c.dropped)).where(d.c.endpoint == endpoint).group_by(d.c.variant)
    if since is not None:
        query = query.where(d.c.at >= since)
    with ws.db.begin() as conn:
        return {variant: int(n or 0) for variant, n in conn.execute(query)}


def _now() -> datetime:
    return datetime.now(UTC)
