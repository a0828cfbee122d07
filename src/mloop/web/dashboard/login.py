"""Log in with a token (kept in an HttpOnly SameSite cookie) and log out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop.errors import Unauthenticated
from mloop.web.auth import authenticate
from mloop.web.dashboard import session
from mloop.web.dashboard.render import page

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
    try:
        who = authenticate(request.app.state.ws.settings.auth, f"Bearer {token.strip()}")
    except Unauthenticated:
        who = None
    if who is None:
        return page(request, "login.html", status_code=401, next=_safe_next(next),
                    flash="That token is not valid.", flash_kind="error")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(session.COOKIE, token.strip(), httponly=True, samesite="strict", path="/",
                        max_age=12 * 3600, secure=request.url.scheme == "https")
    return response


@router.post("/ui/logout", response_model=None)
def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
    session.check_csrf(request, csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response
