"""One check before a run records anything: the stores it will write answer and accept writes.

A read-only artifact folder, a bucket that refuses PutObject, a database that is down or an
MLflow server that is not listening otherwise shows up after minutes of training (or never,
for tracking); here it stops the run before its first step, with the store's own fix.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import text

from mloop.tracking.client import check_reachable

if TYPE_CHECKING:
    from mloop.store import Workspace


def preflight(ws: Workspace, *, tracking: bool = True) -> None:
    """Check the metadata database, the artifact store (a write and a delete) and the tracking
    server; the first that fails raises its error.

    Raises:
        StoreUnavailable, StoreAccessDenied: a store does not answer or refuses the write;
            the message names the store and the hint the fix.
    """
    with ws.db.begin() as conn:
        conn.execute(text("SELECT 1"))
    probe = b"mloop preflight " + secrets.token_hex(8).encode()  # unique: a real write, never a dedupe
    digest = ws.artifacts.put(probe, durable=False)
    ws.artifacts.delete(digest)
    if tracking:
        check_reachable(ws)
