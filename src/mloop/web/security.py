"""Browser-facing defences shared by all three servers (control plane, model server, inference app).

- `HostCheck`: a `Host` allow-list, so a web page that rebinds its DNS name to 127.0.0.1 cannot
  talk to a local server (the browser sends the attacker's name as `Host`).
- `SecurityHeaders`: `nosniff`, no framing, same-origin referrers, and on HTML pages a Content-Security-Policy
  without inline script: even a value that escaped escaping could not run.
- `install_cors`: CORS headers only for the origins a workspace lists (none by default).
- `RedactedAccessLog`: uvicorn's access log without query strings (tokens, personal data).
- `BodyLimit`: a request body larger than the limit is refused (413) before it is all in memory.

`protect(app, ...)` applies them to a FastAPI app; `guard_hosts` wraps any raw ASGI app.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# Swagger UI and ReDoc load their scripts inline and from a CDN: they keep no CSP of ours.
NO_CSP_PATHS = ("/docs", "/redoc")
BASE_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"same-origin")]
log = logging.getLogger("mloop.web")


def allowed_hosts(configured: Iterable[str], bind_host: str | None) -> frozenset[str] | None:
    """The host names a server answers to; None means "any" (no check).

    Args:
        configured: the `allowed_hosts` setting; when non-empty it is the whole list
            (`*` in it switches the check off).
        bind_host: the address the server binds. Default list: it and the loopback names. A
            wildcard bind (0.0.0.0, ::) answers on every interface, so its default is what a
            client on the network can legitimately call it by: the loopback names, this machine's
            host name and FQDN, and the addresses of its interfaces (`machine_names`); a DNS
            rebinding page's own name is none of those. An app embedded without a bind address
            (tests, ASGI mounts) checks nothing unless configured.
    """
    names = [_normal(h) for h in configured if h.strip()]
    if names:
        return None if "*" in names else frozenset(names)
    if bind_host is None:
        return None
    if bind_host.strip() in WILDCARDS:
        return frozenset({*LOOPBACK_NAMES, *machine_names()})
    return frozenset({_normal(bind_host), *LOOPBACK_NAMES})


def machine_names() -> set[str]:
    """This machine's host name, FQDN and interface addresses (IPv4 and IPv6, without zone ids)."""
    import socket

    import psutil

    names = {socket.gethostname(), socket.getfqdn()}
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                names.add(addr.address.split("%", 1)[0])
    return {_normal(n) for n in names if n}


def _normal(host: str) -> str:
    return host.strip().lower().strip("[]")


def host_of(header: str) -> str:
    """The name in a `Host` header, without its port (`[::1]:8000` -> `::1`)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


async def refuse(send: Send, status: int, code: str, message: str, hint: str) -> None:
    """Answer with the house error body before the app sees the request."""
    body = json.dumps({"code": code, "message": message, "hint": hint}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class HostCheck:
    """Refuses (400, the house JSON error) a request whose `Host` is not in the allow-list."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers") or [] if k == b"host"), b"")
        name = host_of(raw.decode("latin-1"))
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        await refuse(send, 400, "invalid_host", "this server does not answer to the Host of this request",
                     "Call it by its bound address or localhost, or add the name to allowed_hosts.")


class SecurityHeaders:
    """Adds the headers every response should carry, and the CSP on HTML responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = not str(scope.get("path", "")).startswith(NO_CSP_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS:
                    headers.setdefault(name.decode(), value.decode())
                if policy and headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("content-security-policy", CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_cors(app: Any, origins: list[str], methods: list[str], headers: list[str],
                 expose: Sequence[str] = ()) -> None:
    """CORS for `origins` only; with none listed no CORS header is ever sent (the default)."""
    if not origins:
        return
    from fastapi.middleware.cors import CORSMiddleware

    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=methods,
                       allow_headers=headers, expose_headers=list(expose), allow_credentials=False)


def protect(app: Any, hosts: frozenset[str] | None) -> None:
    """Security headers and the Host check on a FastAPI app (added last: they run first)."""
    redact_access_log()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HostCheck, allowed=hosts)


def guard_hosts(app: ASGIApp, hosts: frozenset[str] | None) -> ASGIApp:
    """`app` behind the Host check and the security headers (for raw ASGI apps)."""
    redact_access_log()
    return HostCheck(SecurityHeaders(app), hosts)


def serving_app() -> ASGIApp:
    """Factory for `mloop serve` workers: the model server behind the Host check and headers.

    Allowed hosts: `[serving] allowed_hosts`, default the bound address and localhost.
    """
    import os

    from mloop.serving.server.app import app_from_env

    configured: list[str] = []
    if os.environ.get("MLOOP_WORKSPACE") and not os.environ.get("_MLOOP_SERVE_MODEL_DIR"):
        from mloop.config import load_settings

        configured = load_settings(Path(os.environ["MLOOP_WORKSPACE"])).settings.serving.allowed_hosts
    app = cast(ASGIApp, app_from_env())
    return guard_hosts(app, allowed_hosts(configured, os.environ.get("_MLOOP_SERVE_HOST")))


class RedactedAccessLog(logging.Filter):
    """Drops the query string from uvicorn access-log lines: it may hold tokens or personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[redacted]", *args[3:])
        return True


def redact_access_log() -> None:
    """Install `RedactedAccessLog` on uvicorn's access logger (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactedAccessLog) for f in logger.filters):
        logger.addFilter(RedactedAccessLog())


class JsonOnly:
    """Refuses (415) a POST whose body is not `application/json`.

    A cross-site page can send `text/plain` or a form without asking; `application/json` needs a
    CORS preflight, which a server without CORS headers never grants.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers") or [] if k == b"content-type"), b"")
        media = raw.decode("latin-1").split(";", 1)[0].strip().lower()
        if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
            await self.app(scope, receive, send)
            return
        await refuse(send, 415, "unsupported_media_type",
                     "this route takes a JSON body (Content-Type: application/json)",
                     "Send the request with Content-Type: application/json.")


class BodyLimit:
    """Refuses (413) a request body above `max_bytes`: at once when Content-Length says so, else
    as soon as the streamed body passes the limit (the form or JSON parser never sees it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers") or [] if k == b"content-length"), b"")
        if raw.isdigit() and int(raw) > self.max_bytes:
            await refuse(send, 413, "payload_too_large",
                         f"request body of {int(raw)} bytes exceeds the limit of {self.max_bytes} bytes",
                         "Send a smaller body (setting server.max_body_bytes).")
            return
        seen = 0
        refused = started = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not refused:
                refused = True
                if not started:
                    await refuse(send, 413, "payload_too_large",
                                 f"request body exceeds the limit of {self.max_bytes} bytes",
                                 "Send a smaller body (setting server.max_body_bytes).")
            # the app sees a client that went away: it stops reading and its answer is dropped
            return {"type": "http.disconnect"} if refused else message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, counted, guarded)
