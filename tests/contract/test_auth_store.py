"""Tokens and sessions on every metadata backend (SQLite, PostgreSQL), and the schema matching the
migration that creates it."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import inspect

from mloop.auth import authenticate, close_session, create_token, find_session, list_tokens, open_session, revoke_token
from mloop.auth.tables import auth_sessions, auth_tokens
from mloop.store import open_workspace


def test_tokens_and_sessions_round_trip(workspace_dir: Path, database_url: str) -> None:
    ws = open_workspace(workspace_dir, database_url=database_url)
    name = f"ana-{uuid.uuid4().hex[:6]}"  # the PostgreSQL database is shared by the session
    token, record = create_token(ws, name.upper(), "deployer")
    assert authenticate(ws, token).name == name
    assert any(t.id == record.id and t.principal == name for t in list_tokens(ws))
    sid, csrf = open_session(ws, record.id, hours=1)
    found = find_session(ws, sid)
    assert found is not None and found.csrf == csrf and found.expires_at.tzinfo is not None
    close_session(ws, sid)
    assert find_session(ws, sid) is None
    revoke_token(ws, record.id)
    assert all(t.id != record.id for t in list_tokens(ws))
    inspector = inspect(ws.db.engine)
    for table in (auth_tokens, auth_sessions):  # the declared tables are what the migration made
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys())
    ws.close()
