"""Chapter: the dashboard — log in with a token, look at every page, approve a version in the browser's way."""

from __future__ import annotations

import re

from mloop import registry
from mloop.demo import DemoContext

TITLE = "Dashboard: pipelines, runs, models, endpoints, releases and monitoring in the browser"
NEEDS: tuple[str, ...] = ("lineage",)
PAGES = ("pipelines", "runs", "models", "endpoints", "releases", "monitoring")


def run(ctx: DemoContext) -> None:
    import httpx

    url = ctx.state["control_plane_url"]
    token = ctx.state["tokens"]["approver"]
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as http:
        csrf = _csrf(http.get("/ui/login").text)
        login = http.post("/ui/login", data={"token": token, "csrf": csrf, "next": "/ui/models"})
        ctx.did(f"logged in as demo-approver (HttpOnly cookie; HTTP {login.status_code} → {login.headers['location']})")
        for name in PAGES:
            page = http.get(f"/ui/{name}")
            ctx.did(f"/ui/{name}: HTTP {page.status_code}, {len(page.text):,} bytes", f"{url}/ui/{name}")
        _approve_pending(ctx, http)
    ctx.say(f"open [bold]{url}/ui/pipelines[/] while the demo runs, or later: "
            f"[bold]cd {ctx.workspace.root} && mloop server[/] then http://127.0.0.1:8000/ui/")
    tokens = ctx.workspace.state_dir / "demo-tokens.txt"
    ctx.say(f"log in with a token from [bold]{tokens}[/] (0600, ignored by git; stored hashed in the "
            "metadata database): `mloop auth tokens list` shows them, `mloop auth tokens create` issues more")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    return match.group(1) if match else ""


def _approve_pending(ctx: DemoContext, http: object) -> None:
    """Approve one waiting version through the dashboard's form (same rules as the CLI)."""
    ws = ctx.workspace
    waiting = [v for m in registry.list_models(ws) if m.pending
               for v in registry.versions(ws, m.name) if v.status == registry.PENDING]
    if not waiting:
        ctx.say("no version waits for approval")
        return
    version = waiting[0]
    page = http.get("/ui/models")  # type: ignore[attr-defined]
    response = http.post(  # type: ignore[attr-defined]
        f"/ui/models/{version.name}/{version.version}/decision",
        data={"decision": "approve", "comment": "approved from the dashboard in the demo", "csrf": _csrf(page.text)},
    )
    after = registry.get_version(ws, version.name, version.version)
    ctx.did(f"approved {version.name} v{version.version} through the dashboard form "
            f"(HTTP {response.status_code}): now {after.status} by {after.decided_by or after.approved_by}",
            f"{http.base_url}/ui/models/{version.name}")  # type: ignore[attr-defined]
