"""Endpoints: variants with versions and weights, live traffic per variant, guardrail events, and
controls (weights, promote, rollback) for deployers.

Live figures come from the model server's own `/metrics` (Prometheus text): the control plane
reads it when the page renders and derives the request rate from the previous reading.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop import serving
from mloop.errors import MloopError
from mloop.web.dashboard import session
from mloop.web.dashboard.experiments import experiment_panel
from mloop.web.dashboard.render import page

router = APIRouter(include_in_schema=False)
DONE = {"weights": "Weights applied.", "promote": "Canary promoted.", "rollback": "Rolled back."}
_previous: dict[str, tuple[float, dict[str, float]]] = {}  # endpoint -> (time, requests per variant)


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The `q` quantile from cumulative histogram buckets (upper bound, count)."""
    if not buckets or buckets[-1][1] == 0:
        return None
    target = q * buckets[-1][1]
    for bound, count in buckets:
        if count >= target:
            return bound
    return buckets[-1][0]


def live_stats(endpoint: str, url: str | None) -> dict[str, dict[str, Any]]:
    """Per variant: requests, errors, error rate, p99 (ms) and request rate from `url`/metrics."""
    if not url:
        return {}
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{url}/metrics", timeout=2.0).text
    except httpx.HTTPError:
        return {}
    stats: dict[str, dict[str, Any]] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            variant = sample.labels.get("variant")
            if not variant:
                continue
            row = stats.setdefault(variant, {"requests": 0.0, "errors": 0.0})
            if sample.name == "mloop_requests_total":
                row["requests"] += sample.value
            elif sample.name == "mloop_request_errors_total" and sample.labels.get("kind") == "model":
                row["errors"] += sample.value
            elif sample.name == "mloop_request_latency_seconds_bucket":
                bound = float("inf") if sample.labels["le"] == "+Inf" else float(sample.labels["le"])
                buckets.setdefault(variant, []).append((bound, sample.value))
    now = time.monotonic()
    before = _previous.get(endpoint)
    for variant, row in stats.items():
        merged: dict[float, float] = {}
        for bound, count in buckets.get(variant, []):
            merged[bound] = merged.get(bound, 0.0) + count
        p99 = _quantile(sorted(merged.items()), 0.99)
        row["p99_ms"] = None if p99 is None else round(p99 * 1000, 2)
        row["error_rate"] = row["errors"] / row["requests"] if row["requests"] else 0.0
        if before and now > before[0]:
            row["rate"] = max(row["requests"] - before[1].get(variant, 0.0), 0.0) / (now - before[0])
    _previous[endpoint] = (now, {v: r["requests"] for v, r in stats.items()})
    return stats


@router.get("/ui/endpoints", response_class=HTMLResponse)
def endpoints_page(request: Request) -> HTMLResponse:

    session.principal(request, "viewer")
    ws = request.app.state.ws
    return page(request, "endpoints.html", active="endpoints", endpoints=serving.list_endpoints(ws))


@router.get("/ui/endpoints/{name}", response_class=HTMLResponse)
def endpoint_page(request: Request, name: str) -> HTMLResponse:
    # Only the outcomes this server redirects with: a link cannot make the page say anything else.
    done = request.query_params.get("done")
    return _endpoint(request, name, flash=DONE.get(done or ""), kind="info")


def _endpoint(request: Request, name: str, flash: str | None = None, kind: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    """The endpoint page; `flash` comes from this server (an action's outcome), never the URL."""
    who = session.principal(request, "viewer")
    ws = request.app.state.ws
    endpoint = serving.get_endpoint(ws, name)
    url = serving.served_url(ws, name)
    events = serving.history(ws, name, limit=50)

    return page(request, "endpoint.html", active="endpoints", endpoint=endpoint, url=url,
                stats=live_stats(name, url), events=events, can_deploy=who.can("deployer"),
                experiment=experiment_panel(ws, name),
                guardrail_events=[e for e in events if "guardrail" in str(e["action"]).lower()],
                flash=flash, flash_kind=kind, status_code=status_code)


def _weight(variant: str, raw: str) -> int:
    """A form weight as an int; the error names the variant (not "invalid literal for int()")."""
    try:
        return int(raw.strip() or 0)
    except ValueError:
        raise ValueError(f"the weight of '{variant}' must be a whole number from 0 to 100, got '{raw}'") from None


@router.post("/ui/endpoints/{name}/action", response_model=None)
async def endpoint_action(request: Request, name: str) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    session.check_csrf(request, str(form.get("csrf", "")))
    who = session.principal(request, "deployer")
    ws = request.app.state.ws
    action = str(form.get("action", ""))
    try:
        if action == "weights":
            weights = {k[len("weight:"):]: _weight(k[len("weight:"):], str(v))
                       for k, v in form.items() if k.startswith("weight:")}
            serving.set_weights(ws, name, weights, principal=who.name)
        elif action == "promote":
            serving.promote(ws, name, str(form.get("variant") or "canary"), principal=who.name)
        elif action == "rollback":
            serving.rollback(ws, name, principal=who.name)
        else:
            raise ValueError(f"unknown action '{action}'")
    except (MloopError, ValueError) as exc:
        message = exc.message if isinstance(exc, MloopError) else str(exc)
        status = exc.http_status if isinstance(exc, MloopError) else 400
        return _endpoint(request, name, flash=message, kind="error", status_code=status)
    return RedirectResponse(f"/ui/endpoints/{name}?done={action}", status_code=303)
