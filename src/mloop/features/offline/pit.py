"""Point-in-time training sets: one DuckDB ASOF LEFT JOIN per feature group.

For each entity row (id, time) and each group, the feature values come from the newest record
with event time <= time; never a later one. Records sharing (id, event time) are first reduced
to the last-written one, so the choice is deterministic. Every entity row comes back, in its
original order, duplicates included; rows without a match get nulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mloop.errors import InvalidInput, did_you_mean
from mloop.features.groups import get_group
from mloop.features.offline.source import SEQ, connect, damage_errors, source_sql
from mloop.features.schema import ROW_COLUMN, FeatureGroup
from mloop.features.sql import q
from mloop.features.verify import raise_if_damaged

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

ORDINAL = "_mloop_entity_row"


@dataclass
class _Wanted:
    group: FeatureGroup
    features: list[str] = field(default_factory=list)


def _parse(ws: Workspace, features: Sequence[str]) -> list[_Wanted]:
    """'group:feature', 'group:*' or 'group' -> groups with their features, in order."""
    if isinstance(features, str) or not features:
        raise InvalidInput("features must be a non-empty list like ['ad-clicks:age', 'ad-clicks:*']")
    wanted: dict[str, _Wanted] = {}
    for item in features:
        name, _, feat = item.partition(":")
        if name not in wanted:
            wanted[name] = _Wanted(get_group(ws, name))
        entry = wanted[name]
        spec = entry.group.spec
        names = [f.name for f in spec.value_features] if feat in ("", "*") else [feat]
        for n in names:
            spec.feature(n)
            if n not in entry.features:
                entry.features.append(n)
    return list(wanted.values())


def _pick(columns: list[str], explicit: str | None, default: str, what: str) -> str:
    name = explicit or default
    if name not in columns:
        raise InvalidInput(f"entities have no {what} column '{name}'",
                           hint=f"Pass {what}_column=...; " + did_you_mean(name, columns))
    return name


def training_set(
    ws: Workspace, entities: pd.DataFrame, features: Sequence[str], *,
    id_column: str | None = None, time_column: str | None = None,
) -> pd.DataFrame:
    """Point-in-time correct feature values for each entity row.

    Args:
        entities: one row per (id, time) to label; other columns (labels...) pass through.
        features: 'group:feature', 'group:*' or 'group' (all features of the group).
        id_column: the entity id column (default: each group's record identifier).
        time_column: the entity time column (default: the first group's event-time name);
            naive times are UTC.

    Returns:
        `entities` with one column per feature (named `group__feature` on a name clash).

    Raises:
        FeatureGroupNotFound; InvalidInput for unknown features or missing entity columns.
    """
    import pyarrow as pa

    wanted = _parse(ws, features)
    columns = [str(c) for c in entities.columns]
    tcol = _pick(columns, time_column, wanted[0].group.spec.event_time, "time")
    table = pa.Table.from_pandas(entities, preserve_index=False)
    table = table.append_column(ORDINAL, pa.array(range(table.num_rows), pa.int64()))
    con = connect(ws)
    try:
        con.register("entities", table)
        selects, joins, taken = [], [], set(columns)
        for n, w in enumerate(wanted):
            spec = w.group.spec
            icol = _pick(columns, id_column, spec.record_identifier, "id")
            src = source_sql(con, ws, w.group, f"src{n}")
            ident, ts = q(spec.record_identifier), q(spec.event_time)
            id_type = "BIGINT" if spec.feature(spec.record_identifier).type == "int" else "VARCHAR"
            feats = ", ".join(q(f) for f in w.features)
            con.execute(
                f"CREATE TEMP VIEW f{n} AS SELECT CAST({ident} AS {id_type}) AS _k, {ts} AS _t, {feats} "
                f"FROM {src} QUALIFY row_number() OVER (PARTITION BY {ident}, {ts} "
                f"ORDER BY {SEQ} DESC, {ROW_COLUMN} DESC) = 1")
            joins.append(f"ASOF LEFT JOIN f{n} ON TRY_CAST(e.{q(icol)} AS {id_type}) = f{n}._k "
                         f"AND CAST(e.{q(tcol)} AS TIMESTAMPTZ) >= f{n}._t")
            for f in w.features:
                out = f if f not in taken else f"{spec.name}__{f}"
                taken.add(out)
                selects.append(f"f{n}.{q(f)} AS {q(out)}")
        entity_cols = ", ".join(f"e.{q(c)}" for c in columns)
        sql = (f"SELECT {entity_cols}, {', '.join(selects)} FROM entities e {' '.join(joins)} "
               f"ORDER BY e.{ORDINAL}")
        return con.execute(sql).df()
    except damage_errors():
        raise_if_damaged(ws, [w.group for w in wanted])
        raise
    finally:
        con.close()
