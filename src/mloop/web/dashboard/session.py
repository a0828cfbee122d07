"""Dashboard sessions: a random session id in an HttpOnly SameSite cookie, and CSRF protection.

The cookie holds a random session id, never the token: the session (its expiry, its CSRF token,
the token it was opened with) lives in the metadata database (`mloop.auth.sessions`), so logout
and token revocation end it at once. Every mutating form carries the session's CSRF token
(rotated at each login), checked on POST together with the Origin. Before login, forms carry an
HMAC of "anonymous" under a per-workspace secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from fastapi import Request

from mloop.auth import Session, find_session
from mloop.errors import PermissionDenied
from mloop.web.auth import Principal, allow, authenticate

COOKIE = "mloop_session"
SECRET_FILE = "dashboard.secret"
_NONE = object()


def _secret(state_dir: Path) -> bytes:
    path = state_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        value = secrets.token_bytes(32)
        fh.write(value)
    return value


def session_id(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def current(request: Request) -> Session | None:
    """The live session of the request's cookie (looked up once per request)."""
    cached = getattr(request.state, "mloop_session", _NONE)
    if cached is _NONE:
        sid = session_id(request)
        cached = find_session(request.app.state.ws, sid) if sid else None
        request.state.mloop_session = cached
    return cached  # type: ignore[return-value]


def principal(request: Request, role: str = "viewer") -> Principal:
    """The caller of a page: an Authorization header, else the session cookie.

    Raises:
        Unauthenticated: no session and anonymous access does not cover `role`.
        PermissionDenied: the session's role is below `role`.
    """
    ws = request.app.state.ws
    header = request.headers.get("authorization")
    if header is not None:
        return allow(ws, authenticate(ws, header), role)
    live = current(request)
    return allow(ws, live.principal if live else None, role)


def csrf_token(request: Request) -> str:
    """The CSRF token forms of this session must send back."""
    live = current(request)
    if live is not None:
        return live.csrf
    secret = _secret(request.app.state.ws.state_dir)
    return hmac.new(secret, b"anonymous", hashlib.sha256).hexdigest()[:40]


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a form post without this session's CSRF token or from another origin.

    Raises:
        PermissionDenied: the token is missing or wrong, or the Origin is foreign.
    """
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise PermissionDenied("cross-origin form post refused", hint="Submit the form from the dashboard.")
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        raise PermissionDenied("missing or invalid CSRF token", hint="Reload the page and submit again.")
