"""Log in with a token (opens a server-side session; the cookie holds only its id) and log out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop.auth import close_session, ensure_tokens_migrated, lookup, open_session
from mloop.auth.tokens import hint_owners
from mloop.web.dashboard import session
from mloop.web.dashboard.render import page
from mloop.web.dashboard.throttle import LoginThrottle, TooManyLogins

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local paths: a login must never redirect to another site.
    return target if target and target.startswith("/ui/") and "//" not in target else "/ui/pipelines"


@router.get("/ui/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next))


@router.post("/ui/login", response_model=None)
def login(request: Request, token: str = Form(...), csrf: str = Form(""),
          next: str = Form("/ui/pipelines")) -> HTMLResponse | RedirectResponse:
    session.check_csrf(request, csrf)
    ws = request.app.state.ws
    throttle = _throttle(request)
    address = request.client.host if request.client else "unknown"
    token = token.strip()
    try:
        throttle.check(address)  # before the lookup: a guessing client costs no database query
        ensure_tokens_migrated(ws)
        found = lookup(ws, token) if token else None
        if found is None:
            throttle.failed(address, hint_owners(ws, token))
            return page(request, "login.html", status_code=401, next=_safe_next(next),
                        flash="That token is not valid.", flash_kind="error")
        throttle.check(address, {found[1].name})
    except TooManyLogins as exc:
        refused = page(request, "login.html", status_code=429, next=_safe_next(next),
                       flash=exc.message, flash_kind="error")
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    old = session.session_id(request)
    if old:  # a new login never keeps the previous session (nor its CSRF token) alive
        close_session(ws, old)
    hours = ws.settings.auth.session_hours
    sid, _csrf = open_session(ws, found[0], hours)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(session.COOKIE, sid, httponly=True, samesite="strict", path="/",
                        max_age=int(hours * 3600), secure=request.url.scheme == "https")
    return response


def _throttle(request: Request) -> LoginThrottle:
    """The app's login throttle (made on first use from `[auth] login_failures_per_minute`)."""
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle(state.ws.settings.auth.login_failures_per_minute)
    return state.login_throttle  # type: ignore[no-any-return]


@router.post("/ui/logout", response_model=None)
def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
    session.check_csrf(request, csrf)
    sid = session.session_id(request)
    if sid:
        close_session(request.app.state.ws, sid)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/", secure=request.url.scheme == "https",
                           httponly=True, samesite="strict")
    return response
