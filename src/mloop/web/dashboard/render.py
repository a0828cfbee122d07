"""Page rendering: Jinja2 templates with the caller, the CSRF token and the navigation."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from mloop.web import redact
from mloop.web.dashboard import session

NAV = [
    ("pipelines", "Pipelines", "/ui/pipelines"),
    ("runs", "Runs", "/ui/runs"),
    ("models", "Models", "/ui/models"),
    ("endpoints", "Endpoints", "/ui/endpoints"),
    ("releases", "Releases", "/ui/releases"),
    ("monitoring", "Monitoring", "/ui/monitoring"),
]

# Status -> (css class, symbol): the symbol makes status readable without colour.
STATUS = {
    "Succeeded": ("ok", "✓"), "Executing": ("run", "▶"), "Failed": ("fail", "✗"),
    "Cached": ("cached", "↺"), "Skipped": ("skip", "–"), "Pending": ("pending", "…"),
    "Stopped": ("stop", "■"), "NotStarted": ("pending", "○"),
    "PendingManualApproval": ("pending", "…"), "Approved": ("ok", "✓"), "Rejected": ("fail", "✗"),
}


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("mloop.web.dashboard", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.globals["STATUS"] = STATUS
    env.filters["status_class"] = lambda s: STATUS.get(str(s), ("pending", "?"))[0]
    env.filters["status_symbol"] = lambda s: STATUS.get(str(s), ("pending", "?"))[1]
    env.filters["when"] = _when
    env.filters["num"] = lambda v: f"{v:.4g}" if isinstance(v, float) else v
    env.filters["failure"] = _failure
    # `tojson` escapes <, >, & and ' (a value can never close a <script> block); default=str for
    # the datetimes of lineage answers.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": str}
    return env


def _failure(text: Any, who: Any) -> Any:
    """A step or run error as this caller may read it (generic without a token)."""
    return text if who is not None and who.authenticated else redact.failure(text)


def _when(value: Any) -> str:
    if value is None:
        return "-"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("T", " ")[:19]


def page(request: Request, template: str, *, active: str = "", status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Render `template` for the caller (who may be anonymous)."""
    try:
        who = session.principal(request, "viewer")
    except Exception:  # noqa: BLE001 — an unreadable session renders the page as anonymous
        who = None
    html = _env().get_template(template).render(
        request=request, who=who, csrf=session.csrf_token(request), nav=NAV, active=active, **context
    )
    return HTMLResponse(html, status_code=status_code)
