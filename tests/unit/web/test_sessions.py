"""Dashboard sessions: the cookie is a random server-side session id (never the token), logout
revokes it (a replayed cookie fails), the CSRF token rotates at login, cookies are Secure over HTTPS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from mloop.auth import create_token, revoke_token
from mloop.store import open_workspace
from mloop.web import create_app
from mloop.web.dashboard.session import COOKIE
from tests.support.dashboard import csrf_token


def _login(client: TestClient, token: str) -> Any:
    return client.post("/ui/login", data={"token": token, "csrf": csrf_token(client.get("/ui/login").text)},
                       follow_redirects=False)


def test_logout_revokes_the_session_and_a_replayed_cookie_fails(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir, auth__anonymous_read=False)
    token, _ = create_token(ws, "ana", "deployer")
    with TestClient(create_app(ws)) as client:
        anonymous_csrf = csrf_token(client.get("/ui/login").text)
        assert _login(client, token).status_code == 303
        cookie = client.cookies[COOKIE]
        assert token not in cookie and len(cookie) >= 40
        first_csrf = csrf_token(client.get("/ui/endpoints").text)
        assert first_csrf != anonymous_csrf
        client.post("/ui/logout", data={"csrf": first_csrf}, follow_redirects=False)
        assert client.get("/ui/models", follow_redirects=False).status_code in (303, 401)
        client.cookies.set(COOKIE, cookie)  # an attacker replays the stolen cookie after logout
        replay = client.get("/ui/models", follow_redirects=False)
        assert replay.status_code in (303, 401)
        forged = client.post("/ui/endpoints/ctr/action", follow_redirects=False,
                             data={"csrf": first_csrf, "action": "rollback"})
        assert forged.status_code in (401, 403) and "CSRF" in forged.text
        client.cookies.clear()
        assert _login(client, token).status_code == 303
        assert csrf_token(client.get("/ui/endpoints").text) not in (first_csrf, anonymous_csrf)  # rotated
    ws.close()


def test_revoking_the_token_ends_its_sessions(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir, auth__anonymous_read=False)
    token, record = create_token(ws, "ana", "approver")
    with TestClient(create_app(ws)) as client:
        _login(client, token)
        assert client.get("/api/whoami").status_code == 401  # the API wants a bearer header
        assert client.get("/ui/models", follow_redirects=False).status_code == 200
        revoke_token(ws, record.id)
        assert client.get("/ui/models", follow_redirects=False).status_code in (303, 401)
        assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    ws.close()


def test_cookies_are_secure_over_https(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    token, _ = create_token(ws, "ana", "approver")
    with TestClient(create_app(ws), base_url="https://testserver") as client:
        login = _login(client, token)
        assert login.status_code == 303
        assert "secure" in login.headers["set-cookie"].lower() and "httponly" in login.headers["set-cookie"].lower()
    with TestClient(create_app(ws)) as client:
        assert "secure" not in _login(client, token).headers["set-cookie"].lower()
    ws.close()


def test_failed_logins_are_rate_limited_per_address_and_per_principal(workspace_dir: Path) -> None:
    """5 wrong tokens a minute from one address, then 429 with Retry-After (even for a right one)."""
    from mloop.auth import list_tokens

    ws = open_workspace(workspace_dir, auth__anonymous_read=False)
    token, _ = create_token(ws, "ana", "approver")
    other, _ = create_token(ws, "bob", "viewer")
    with TestClient(create_app(ws), client=("10.0.0.7", 5000)) as guesser:
        for attempt in range(5):
            assert _login(guesser, f"mlp_wrong{attempt}").status_code == 401
        refused = _login(guesser, token)
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "too many failed logins" in refused.text and COOKIE not in guesser.cookies
    with TestClient(create_app(ws), client=("10.0.0.8", 5000)) as colleague:
        assert _login(colleague, other).status_code == 303  # another address is not held up
    # a leaked prefix completed from many addresses counts against its principal
    hint = next(t.hint for t in list_tokens(ws) if t.principal == "ana")
    app = create_app(ws)
    for n in range(5):
        with TestClient(app, client=(f"10.1.0.{n}", 5000)) as client:
            assert _login(client, hint + "x" * 33).status_code == 401
    with TestClient(app, client=("10.1.0.99", 5000)) as client:
        assert _login(client, token).status_code == 429  # ana's logins wait; bob's do not
        assert _login(client, other).status_code == 303
    ws.close()
