"""SQLite connections for the spool and the online store: WAL, and a fast lock wait.

SQLite's built-in busy handler sleeps 1, 2, 5, 10... up to 100 ms between attempts, which
turns four processes committing tiny transactions into a queue of sleepers. Taking the write
lock ourselves with short, jittered waits keeps concurrent writers at full speed.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

LOCK_WAIT_SECONDS = 60.0


def connect(path: Path, page_size: int | None = None) -> sqlite3.Connection:
    """An autocommit connection in WAL mode (synchronous=NORMAL: durable across process kills).

    `page_size` applies only when the file is created (SQLite cannot change it in WAL mode).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False)
    if page_size:
        conn.execute(f"PRAGMA page_size={int(page_size)}")  # before WAL: that writes the header
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=0")  # lock waits go through `begin_immediate`
    return conn


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retrying with short jittered sleeps while another writer holds the lock."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    wait = 0.00005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
        time.sleep(wait * (0.5 + random.random()))
        wait = min(wait * 2, 0.002)


def execute_retrying(conn: sqlite3.Connection, sql: str, *params: object) -> sqlite3.Cursor:
    """One autocommit statement, retried like `begin_immediate` when the database is busy."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    wait = 0.00005
    while True:
        try:
            return conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
        time.sleep(wait * (0.5 + random.random()))
        wait = min(wait * 2, 0.002)
