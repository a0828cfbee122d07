"""SQLite connections for the spool and the online store: WAL, and a lock queue writers sleep in.

SQLite's built-in busy handler sleeps 1, 2, 5, 10... up to 100 ms between attempts, and short
polling sleeps instead burn the CPU the lock holder needs: four processes committing tiny
transactions on two cores spent more time waiting than writing. Writers therefore queue on an
`flock` of a sidecar file (`<db>.wlock`) before BEGIN IMMEDIATE: a waiter retries a few times
(yielding its core), then sleeps in the kernel and wakes the moment the holder lets go.
Readers never touch it (WAL readers do not block).
"""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

LOCK_WAIT_SECONDS = 60.0
# SQLite checkpoints inside the COMMIT that crosses this many WAL pages, and (synchronous=NORMAL)
# fsyncs there, stalling that writer - and, holding the lock, every other one. The default 1000
# pages cost a single-record put_records ~25 us on average; at 10000 (a WAL of up to ~40 MB,
# reused) repeated updates of the same pages coalesce and the stall comes 10x less often.
CHECKPOINT_PAGES = 10_000
# Tries at the writers' lock, yielding the core between them, before sleeping in the queue: a
# holder's transaction takes ~40 µs, less than being put to sleep and woken again. Four
# single-record writers on 2 cores, A/B in turns: 9.0k-10.4k rows/s sleeping at once,
# 11.1k-12.1k with 20 tries.
LOCK_TRIES = 20


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection in WAL mode (synchronous=NORMAL: durable across process kills)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=0")  # lock waits go through `begin_immediate`
    conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    return conn


class WriteLock:
    """The writers' queue of one database file; one per connection (flock is per open file)."""

    def __init__(self, db_path: Path) -> None:
        self.fd = os.open(f"{db_path}.wlock", os.O_RDWR | os.O_CREAT, 0o644)

    def close(self) -> None:
        os.close(self.fd)


class ThreadLocalDB:
    """One SQLite file opened once per thread (sqlite3 connections are not shared between
    threads), each connection with its own handle on the writers' lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
            self._local.lock = WriteLock(self.path)
        return conn

    def lock(self) -> WriteLock:
        """This thread's handle on the writers' lock (opened with its connection)."""
        self.conn()
        lock: WriteLock = self._local.lock
        return lock

    def write_many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        write_many(self.conn(), self._local.lock, sql, params)

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread state goes)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.lock.close()
            self._local.conn = None


def write_many(conn: sqlite3.Connection, lock: WriteLock, sql: str, params: Iterable[Sequence[Any]]) -> None:
    """`executemany(sql, params)` in one transaction, holding the writers' lock."""
    write_all(conn, lock, [(sql, params)])


def write_all(conn: sqlite3.Connection, lock: WriteLock,
              statements: Sequence[tuple[str, Iterable[Sequence[Any]]]],
              only_if: Callable[[sqlite3.Connection], bool] | None = None) -> bool:
    """Each `executemany(sql, params)` in one transaction, holding the writers' lock, and only
    if `only_if` (called inside the transaction) says so; returns whether they ran. A plain
    function, not a context manager: this runs once per `put_records` call."""
    for _ in range(LOCK_TRIES):
        try:
            fcntl.flock(lock.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            os.sched_yield()
    else:
        fcntl.flock(lock.fd, fcntl.LOCK_EX)
    try:
        begin_immediate(conn)  # still retries: a writer outside the queue may hold SQLite's lock
        try:
            run = only_if is None or only_if(conn)
            for sql, params in statements if run else ():
                conn.executemany(sql, params)
            conn.execute("COMMIT")
            return run
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        fcntl.flock(lock.fd, fcntl.LOCK_UN)


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried while another writer holds the lock."""
    execute_retrying(conn, "BEGIN IMMEDIATE")


_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)


def execute_retrying(conn: sqlite3.Connection, sql: str, *params: object) -> sqlite3.Cursor:
    """One statement, retried with short jittered sleeps while the database is busy."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    wait = 0.00005
    while True:
        try:
            return conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            # By SQLite's result code (SQLITE_BUSY, SQLITE_LOCKED), never by the message text.
            if exc.sqlite_errorcode & 0xFF not in _BUSY or time.monotonic() > deadline:
                raise
        time.sleep(wait * (0.5 + random.random()))
        wait = min(wait * 2, 0.002)
