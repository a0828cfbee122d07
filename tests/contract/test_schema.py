"""One schema, checked: the migrations and the packages' `tables.py` declare the same database.

The schema is written twice — `op.create_table` in `store/migrations/versions/*` (the truth a
database gets) and SQLAlchemy `Table`s in each package's `tables.py` (what code queries and what
a reader trusts). Nothing else keeps them together, so this contract runs the migrations on a new
database and asks alembic's autogenerate (`compare_metadata`) for every difference, on SQLite and
on PostgreSQL. A second test upgrades a database holding records written with the previous
schema and checks that every row survives the upgrade, the way MLflow tests its migrations.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import mloop
from mloop.store.database import MIGRATIONS_DIR, VERSION_TABLE
from mloop.store.tables import metadata
from tests.support.backends import fresh_pg_database


def _declared_metadata() -> sa.MetaData:
    """Every table any mloop package declares: imports each `mloop.<pkg>.tables` module found.

    Found by file name, so a package added later is covered without editing this test (and
    without importing every package, as `pkgutil.walk_packages` would).
    """
    root = Path(mloop.__file__).parent
    for path in sorted(root.rglob("tables.py")):
        module = ".".join(("mloop", *path.relative_to(root).with_suffix("").parts))
        importlib.import_module(module)
    return metadata


@pytest.fixture
def fresh_url(database_url: str) -> Iterator[str]:
    """An empty database of the backend under test (the session's PG database is shared)."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    with fresh_pg_database("mloop_schema") as url:
        yield url


def _upgrade(conn: sa.Connection, *targets: str) -> None:
    """Run the migrations to `targets`, configured the way `Database.migrate` configures them."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_table", VERSION_TABLE)
    cfg.attributes["connection"] = conn
    for target in targets:
        command.upgrade(cfg, target)
    conn.commit()


def _script() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def test_migrations_and_declared_tables_agree(fresh_url: str) -> None:
    declared = _declared_metadata()
    engine = sa.create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            _upgrade(conn, "heads")
            # Types and server defaults are compared too. Nothing is filtered: alembic reads
            # SQLite's reflected affinities (DATETIME, JSON, BOOLEAN) as the declared types, and
            # its own version table is skipped because the context is told its name.
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            diffs = compare_metadata(context, declared)
    finally:
        engine.dispose()
    assert diffs == [], "migrations and tables.py differ:\n" + "\n".join(map(repr, diffs))


def _upgrade_steps() -> list[str]:
    """Every revision that has a previous one: each is a schema change a database lives through."""
    return sorted(r.revision for r in _script().walk_revisions() if r.down_revision is not None)


def _value(column: sa.Column[Any], n: int) -> Any:
    """A real-looking value of the column's type: unicode, nested JSON with a null, aware times."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return 7 + n
    if isinstance(kind, sa.Float):
        return 0.1 + n
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(minutes=n)
    if isinstance(kind, sa.JSON):
        return {"n": n, "name": "Zoë", "values": [1.0, None, "x"]}
    length = getattr(kind, "length", None) or 40
    return f'v{n}-Zoë\'s "row" <b>'[:length]


def _write_rows(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Two rows per table (parents first); foreign keys point at the parent's rows."""
    written: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        rows = []
        for n in range(2):
            row = {c.name: _value(c, n) for c in table.columns}
            for fk in table.foreign_keys:
                parent_rows = written[fk.column.table.name]
                row[fk.parent.name] = parent_rows[n][fk.column.name]
            rows.append(row)
        conn.execute(table.insert(), rows)
        written[table.name] = rows
    conn.commit()


def _read_all(conn: sa.Connection, tables: list[sa.Table]) -> dict[str, list[dict[str, Any]]]:
    return {
        t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))] for t in tables
    }


@pytest.mark.parametrize("revision", _upgrade_steps())
def test_an_upgrade_keeps_every_row(fresh_url: str, revision: str) -> None:
    script = _script()
    step = script.get_revision(revision)
    others = [  # every other branch at its head, so the database holds all of today's tables
        head
        for head in script.get_heads()
        if revision not in {r.revision for r in script.iterate_revisions(head, "base")}
    ]
    engine = sa.create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            _upgrade(conn, *sorted(others), str(step.down_revision))
            old = sa.MetaData()
            old.reflect(conn)
            tables = [t for t in old.sorted_tables if t.name != VERSION_TABLE]
            _write_rows(conn, tables)
            before = _read_all(conn, tables)
            _upgrade(conn, "heads")
            new = sa.MetaData()
            new.reflect(conn)
            after = _read_all(conn, [new.tables[t.name] for t in tables])
    finally:
        engine.dispose()
    for name, rows in before.items():
        kept = [{k: row[k] for k in rows[0]} for row in after[name]]
        assert kept == rows, f"{revision} changed the rows of {name}"
