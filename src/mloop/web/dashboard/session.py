"""Dashboard sessions: a token login kept in an HttpOnly SameSite cookie, and CSRF protection.

The cookie holds the bearer token itself (never a URL, never a page); the same `[auth]` tokens
and roles as the API decide what a page may do. Every mutating form carries a CSRF token: an
HMAC of the session under a per-workspace secret, checked on POST together with the Origin.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from fastapi import Request

from mloop.errors import PermissionDenied
from mloop.web.auth import Principal, resolve

COOKIE = "mloop_session"
SECRET_FILE = "dashboard.secret"


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


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def principal(request: Request, role: str = "viewer") -> Principal:
    """The caller of a page: the session cookie's token (or an Authorization header).

    Raises:
        Unauthenticated: no session and anonymous access does not cover `role`.
        PermissionDenied: the session's role is below `role`.
    """
    header = request.headers.get("authorization")
    token = session_token(request)
    if header is None and token:
        header = f"Bearer {token}"
    return resolve(request.app.state.ws.settings.auth, header, role)


def csrf_token(request: Request) -> str:
    """The CSRF token forms of this session must send back."""
    secret = _secret(request.app.state.ws.state_dir)
    subject = (session_token(request) or "anonymous").encode()
    return hmac.new(secret, subject, hashlib.sha256).hexdigest()[:40]


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
