"""The metadata database: SQLAlchemy 2.x on SQLite (default) or PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction starts
`BEGIN IMMEDIATE` so that two writers queue instead of failing on a lock upgrade. The schema is
owned by Alembic migrations (one branch per concept package, see `migrations/`), applied when a
workspace is opened, under a lock (a file lock for SQLite, an advisory lock for PostgreSQL) so
that two processes opening a new workspace at once cannot both migrate it.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.error_map import ExceptionTable, first_line, map_exceptions
from mloop.errors import ConfigError, MloopError, StoreAccessDenied, StoreUnavailable
from mloop.store.locks import file_lock

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "mloop_schema_version"
_ADVISORY_LOCK_KEY = 0x6D6C6F6F70  # "mloop"


class Database:
    """A metadata database: an engine plus transactions that translate connection errors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0]

    @property
    def is_shared(self) -> bool:
        """Whether other machines can use this database (a server, not a SQLite file)."""
        return self.dialect != "sqlite"

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _create_engine(self.url)
            return self._engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        with map_exceptions(SQL_ERRORS, url=self.url), self.engine.begin() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision of every branch, safely under concurrency.

        Raises:
            StoreUnavailable: the database cannot be reached.
            StoreAccessDenied: its file or folder is read-only, or the role may not write.
        """
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError, OperationalError

        try:
            if self.dialect == "sqlite":
                with _file_lock(_sqlite_path(self.url)), self.engine.connect() as conn:
                    _upgrade(conn)
            else:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                    conn.commit()
                    try:
                        _upgrade(conn)
                    finally:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                        conn.commit()
        except DBAPIError as exc:
            mapped = SQL_ERRORS.translate(exc, url=self.url)
            if mapped is None and isinstance(exc, OperationalError):  # migrating: any operational failure
                mapped = _unavailable(exc, {"url": self.url})
            if mapped is not None:
                raise mapped from exc
            raise
        except PermissionError as exc:  # the migration lock file next to a SQLite database
            raise _denied(exc, {"url": self.url}) from exc
        except OSError as exc:
            if exc.errno == errno.EROFS:
                raise _denied(exc, {"url": self.url}) from exc
            raise

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _create_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if url.split(":", 1)[0].split("+", 1)[0] not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database_url '{_redact(url)}' names an unsupported database",
            hint="mloop keeps metadata in SQLite (sqlite:///path) or PostgreSQL "
            "(postgresql+psycopg://user@host:5432/db).",
        )
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(
            f"database_url '{_redact(url)}' is not a usable SQLAlchemy URL: {exc}",
            hint="Use sqlite:///path/to/mloop.db or postgresql+psycopg://user@host:5432/db "
            "(install the extra: pip install 'mloop[postgres]').",
        ) from exc
    except ImportError as exc:
        raise ConfigError(
            f"the driver for '{_redact(url)}' is not installed: {exc}",
            hint="pip install 'mloop[postgres]'",
        ) from exc
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]+)"|None)', re.MULTILINE)
_heads: frozenset[str] | None = None


def expected_heads() -> frozenset[str]:
    """The head revisions of mloop's migrations, read from the revision files without importing
    Alembic (a second of import on a busy machine, for every CLI command that opens the DB)."""
    global _heads
    if _heads is None:
        revisions: set[str] = set()
        parents: set[str] = set()
        for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
            for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
                if value:
                    (revisions if key == "revision" else parents).add(value)
        _heads = frozenset(revisions - parents)
    return _heads


def _at_head(conn: Connection) -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        current = {r[0] for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))}
    except DBAPIError:  # a new database: no version table yet
        conn.rollback()
        return False
    conn.rollback()  # end the read (SQLite: release the BEGIN IMMEDIATE lock at once)
    return current == set(expected_heads())


def _upgrade(conn: Connection) -> None:
    if _at_head(conn):
        return
    import logging

    # Before the imports: importing alembic.command logs "setup plugin ..." at INFO (noise to users).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_table", VERSION_TABLE)
    script = ScriptDirectory.from_config(cfg)
    current = set(
        MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()
    )
    if current == set(script.get_heads()):
        return
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "heads")
    conn.commit()


@contextmanager
def _file_lock(db_path: Path | None) -> Iterator[None]:
    if db_path is None:
        yield
        return
    with file_lock(db_path.with_name(db_path.name + ".migrate.lock")):
        yield


def _sqlite_path(url: str) -> Path | None:
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    if not rest or rest == ":memory:":
        return None
    return Path(rest.split("?", 1)[0])


def _redact(url: str) -> str:
    """`url` without its password; a placeholder when it does not parse (never the raw text,
    which may hold a password where the parser could not find it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return "<unparseable database_url, redacted>"


_SQLITE_DENIED = {3, 8}  # SQLITE_PERM, SQLITE_READONLY (primary result codes)
_SQLITE_UNAVAILABLE = {14}  # SQLITE_CANTOPEN
_PG_DENIED = {"42501"}  # insufficient_privilege
# Besides SQLSTATE class 08 (connection exception): the server refusing a connection (credentials,
# unknown database, too many clients), ending it (shutdown) or cancelling on a statement timeout.
_PG_UNAVAILABLE = {"28000", "28P01", "3D000", "53300", "57P01", "57P02", "57P03", "57014"}


def _driver_codes(exc: BaseException) -> tuple[int | None, str | None]:
    """(SQLite primary result code, PostgreSQL SQLSTATE) of a SQLAlchemy DBAPIError's driver error."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    return (code & 0xFF if isinstance(code, int) else None), getattr(orig, "sqlstate", None)


def _denied_rule(exc: BaseException, c: Mapping[str, Any]) -> MloopError | None:
    """A permission refusal, told by the driver's error code (never by message text)."""
    sqlite_code, sqlstate = _driver_codes(exc)
    return _denied(exc, c) if sqlite_code in _SQLITE_DENIED or sqlstate in _PG_DENIED else None


def connection_failed(exc: BaseException) -> bool:
    """Whether a SQLAlchemy OperationalError means the database cannot be reached: a dropped
    connection (`connection_invalidated`), a PostgreSQL connection SQLSTATE or none at all (psycopg
    raises client-side connection failures without one), or SQLite unable to open its file."""
    sqlite_code, sqlstate = _driver_codes(exc)
    if getattr(exc, "connection_invalidated", False) or sqlite_code in _SQLITE_UNAVAILABLE:
        return True
    return sqlite_code is None and (sqlstate is None or sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE)


def _connect_rule(exc: BaseException, c: Mapping[str, Any]) -> MloopError | None:
    return _unavailable(exc, c) if connection_failed(exc) else None


def _denied(exc: BaseException, c: Mapping[str, Any]) -> StoreAccessDenied:
    reason = first_line(getattr(exc, "orig", None) or exc)
    return StoreAccessDenied(
        f"the metadata database {_redact(c['url'])} refused a write: {reason}",
        hint="mloop needs write access: for SQLite, make the database file and its folder writable "
        "by this user; for PostgreSQL, GRANT INSERT, UPDATE, DELETE on mloop's tables to its role.",
    )


def _unavailable(exc: BaseException, c: Mapping[str, Any]) -> StoreUnavailable:
    reason = first_line(getattr(exc, "orig", None) or exc)
    return StoreUnavailable(
        f"cannot reach the metadata database {_redact(c['url'])}: {reason}",
        hint="Check that the server is running and database_url is right (`mloop config show`).",
    )


# Only failures of the store itself are translated: a constraint violation (IntegrityError) or
# bad SQL (ProgrammingError) propagate, for the owning package to say what the conflict means.
SQL_ERRORS = ExceptionTable("sql", [
    ("sqlalchemy.exc:DBAPIError", _denied_rule),
    ("sqlalchemy.exc:OperationalError", _connect_rule),
])
