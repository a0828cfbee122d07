"""Chapter: the inference web app in front of the endpoint; simulated users; logged interactions."""

from __future__ import annotations

from typing import Any

from mloop.demo import DemoContext
from mloop.demo.processes import start_mloop, wait_for
from mloop.demo.traffic import send_users, users
from mloop.errors import NotFound
from mloop.features import extract
from mloop.serving import list_endpoints, served_url

TITLE = "Inference app: predictions logged with version and variant, feedback joined later"
NEEDS: tuple[str, ...] = ("features", "pipelines", "serving")
USERS = 300


def endpoint_of(ctx: DemoContext) -> tuple[str, str]:
    """(endpoint name, URL) of the model server the serving chapter started."""
    name = ctx.state.get("endpoint") or ctx.state.get("serving_endpoint")
    names = [name] if name else [e.name for e in list_endpoints(ctx.workspace)]
    for candidate in names:
        url = ctx.state.get("endpoint_url") or served_url(ctx.workspace, candidate)
        if url:
            wait_for(lambda ping=f"{url}/ping": _answers(ping), "the model server to load its model")
            return candidate, str(url)
    raise NotFound("no running endpoint to put the app in front of", hint="run the serving chapter first")


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    name, endpoint_url = endpoint_of(ctx)
    url = _start_app(ctx, name)
    ctx.did(f"started the inference app (its own process) in front of endpoint '{name}'", url)
    ctx.say(f"[dim]open {url}/ in a browser: a form, the click probability, two feedback buttons[/]")
    stats = send_users(url, users(USERS, seed=11), seed=11)
    versions = ", ".join(f"{k}: {v}" for k, v in sorted(stats["versions"].items()))
    ctx.did(f"{stats['predictions']} simulated users got a prediction ({versions}); "
            f"{stats['feedback']} told us what they did, {stats['clicks']} clicked")
    _show_logs(ctx, extract(ws, ws.settings.app.interactions_group), extract(ws, ws.settings.app.feedback_group))
    _show_errors(ctx, url)
    ctx.state.update(app_url=url, app_endpoint=name, app_endpoint_url=endpoint_url,
                     app_interactions=stats["predictions"], app_feedback=stats["feedback"])


def _start_app(ctx: DemoContext, endpoint: str) -> str:
    return start_mloop(ctx, ["app", "--endpoint", endpoint], log_name="demo-app.log", ready="/healthz")


def _show_logs(ctx: DemoContext, interactions: Any, feedback: Any) -> None:
    ws = ctx.workspace
    ctx.did(f"{len(interactions)} interactions logged to feature group '{ws.settings.app.interactions_group}'",
            "mloop features show " + ws.settings.app.interactions_group)
    cols = ["request_id", "age", "device_type", "ad_position", "prediction", "model_version", "variant"]
    for row in interactions.tail(3)[cols].to_dict("records"):
        ctx.say(f"[dim]{row['request_id'][:8]}… age {row['age']:>2} {row['device_type']:<7} "
                f"{row['ad_position']:<6} p={row['prediction']:.3f} v{row['model_version']} {row['variant']}[/]")
    rate = feedback["clicked"].mean() if len(feedback) else 0.0
    ctx.did(f"{len(feedback)} feedback rows in '{ws.settings.app.feedback_group}' "
            f"(click rate {rate:.1%}), keyed by request id")


def _show_errors(ctx: DemoContext, url: str) -> None:
    import httpx

    record = users(1, seed=3)[0]
    res = httpx.post(f"{url}/api/predict", json={**record, "age": -4}, timeout=10)
    ctx.say(f"a negative age -> [yellow]{res.status_code}[/] {res.json()['message']}")
    empty = httpx.post(f"{url}/api/predict", json={**record, "age": "", "gender": None}, timeout=10)
    ctx.say(f"empty age and gender -> {empty.status_code} p={empty.json().get('probability', 0):.3f} "
            "(the model was trained with missing values)")
    unseen = httpx.post(f"{url}/api/predict", json={**record, "device_type": "Smartwatch"}, timeout=10)
    said = ", ".join(unseen.json().get("input_issues") or []) or unseen.json().get("message")
    ctx.say(f"an unknown device type -> {unseen.status_code}, the endpoint's input policy reports: {said}")
    ok = httpx.post(f"{url}/api/predict", json=record, timeout=10).json()
    httpx.post(f"{url}/api/feedback", json={"request_id": ok["request_id"], "clicked": False}, timeout=10)
    twice = httpx.post(f"{url}/api/feedback", json={"request_id": ok["request_id"], "clicked": True}, timeout=10)
    ctx.say(f"feedback twice -> [yellow]{twice.status_code}[/] {twice.json()['message']}")


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
