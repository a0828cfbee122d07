"""Tokens live hashed in the metadata database; configured plaintext tokens move there once."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mloop.auth import (
    authenticate,
    close_session,
    create_token,
    ensure_tokens_migrated,
    find_session,
    list_tokens,
    normalize,
    open_session,
    revoke_token,
)
from mloop.auth.tables import auth_sessions, auth_tokens
from mloop.errors import InvalidInput, NotFound, Unauthenticated
from mloop.store import open_workspace


def test_a_token_is_stored_only_as_its_digest(workspace: Any) -> None:
    token, record = create_token(workspace, "  Ana ", "approver", created_by="admin", note="laptop")
    assert token.startswith("mlp_") and len(token) > 40
    assert (record.principal, record.role, record.hint) == ("ana", "approver", token[:10])
    with workspace.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(auth_tokens))]
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(v) for row in rows for v in row.values())  # no plaintext anywhere
    assert authenticate(workspace, token).name == "ana"
    with pytest.raises(Unauthenticated):
        authenticate(workspace, token[:-1] + ("x" if token[-1] != "x" else "y"))


def test_list_and_revoke(workspace: Any) -> None:
    first, a = create_token(workspace, "ana", "approver")
    _, b = create_token(workspace, "dee", "deployer")
    assert [t.principal for t in list_tokens(workspace)] == ["ana", "dee"]
    revoke_token(workspace, a.id)
    assert [t.principal for t in list_tokens(workspace)] == ["dee"]
    assert [t.revoked_at is not None for t in list_tokens(workspace, include_revoked=True)] == [True, False]
    with pytest.raises(Unauthenticated):
        authenticate(workspace, first)
    with pytest.raises(NotFound) as missing:
        revoke_token(workspace, 999)
    assert f"live token ids: {b.id}" in (missing.value.hint or "")


def test_bad_principal_or_role_is_refused(workspace: Any) -> None:
    with pytest.raises(InvalidInput, match="principal"):
        create_token(workspace, "   ", "viewer")
    with pytest.raises(InvalidInput) as bad:
        create_token(workspace, "ana", "boss")
    assert "viewer, approver, deployer, admin" in (bad.value.hint or "")


def test_principals_are_trimmed_and_casefolded() -> None:
    assert normalize("  Root ") == normalize("root") == "root"
    assert normalize("ANA\tMaría") == "ana maría"
    assert normalize("   ") is None and normalize(None) is None


def test_sessions_expire_end_at_logout_and_with_their_token(workspace: Any) -> None:
    _, record = create_token(workspace, "ana", "approver")
    sid, csrf = open_session(workspace, record.id, hours=1)
    live = find_session(workspace, sid)
    assert live is not None and live.principal.name == "ana" and live.csrf == csrf
    with workspace.db.begin() as conn:  # the cookie value itself is not stored
        assert conn.execute(select(auth_sessions.c.id_hash)).scalar() != sid
    other, other_csrf = open_session(workspace, record.id, hours=1)
    assert other_csrf != csrf  # a new login gets a new CSRF token
    close_session(workspace, sid)
    assert find_session(workspace, sid) is None and find_session(workspace, other) is not None
    expired, _ = open_session(workspace, record.id, hours=1e-9)
    assert find_session(workspace, expired) is None
    revoke_token(workspace, record.id)
    assert find_session(workspace, other) is None


CONFIG_WITH_TOKENS = """\
# my project
principal = "carol"

[auth]
anonymous_read = false  # keep this
tokens = { "inline-token-1234" = { principal = "Ana", role = "approver" } }

[auth.tokens."table-token-5678"]
principal = "dee"
role = "deployer"

[registry]
require_distinct_approver = true
"""


def test_configured_tokens_move_into_the_database(workspace_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = workspace_dir / "mloop.toml"
    config.write_text(CONFIG_WITH_TOKENS.replace('tokens = { "inline-token-1234" = { principal = "Ana", '
                                                 'role = "approver" } }\n', ""))
    os.chmod(config, 0o640)
    ws = open_workspace(workspace_dir)
    with caplog.at_level(logging.WARNING, logger="mloop.auth"):
        ensure_tokens_migrated(ws)
    assert "moved 1 token(s) from [auth.tokens]" in caplog.text and "table-token" not in caplog.text
    text = config.read_text()
    assert "table-token-5678" not in text and "dee" not in text
    assert "# my project" in text and "anonymous_read = false  # keep this" in text
    assert "require_distinct_approver = true" in text and stat.S_IMODE(config.stat().st_mode) == 0o640
    assert authenticate(ws, "table-token-5678").name == "dee"
    reopened = open_workspace(workspace_dir)
    assert reopened.settings.auth.tokens == {} and reopened.settings.auth.anonymous_read is False
    ws.close()
    reopened.close()


def test_inline_tokens_key_is_removed_too(workspace_dir: Path) -> None:
    config = workspace_dir / "mloop.toml"
    config.write_text(CONFIG_WITH_TOKENS.replace('[auth.tokens."table-token-5678"]\nprincipal = "dee"\n'
                                                 'role = "deployer"\n', ""))
    ws = open_workspace(workspace_dir)
    ensure_tokens_migrated(ws)
    assert "token-1234" not in config.read_text() and "anonymous_read = false" in config.read_text()
    assert authenticate(ws, "inline-token-1234").name == "ana"  # normalised on the way in
    ws.close()
