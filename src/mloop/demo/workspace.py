"""Chapter: a workspace, its configuration, an artifact and a metadata record."""

from __future__ import annotations

import json

from mloop.demo import DemoContext
from mloop.store import list_events, record_event

TITLE = "Workspace: configuration, artifact store, metadata database"
NEEDS: tuple[str, ...] = ()


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    ctx.did("created the workspace", str(ws.root / "mloop.toml"))
    for row in ws.loaded.rows():
        if row["key"] in ("database_url", "artifact_root", "online_store_url", "tracking_uri"):
            ctx.say(f"{row['key']:<17} = {row['value']}  [dim]({row['source']})[/]")
    payload = json.dumps({"hello": "mloop", "purpose": "demo"}).encode()
    digest = ws.artifacts.put(payload)
    assert ws.artifacts.get_bytes(digest) == payload
    ctx.did(f"wrote and read back a {len(payload)}-byte artifact sha256:{digest[:12]}",
            ws.artifacts.uri(digest))
    event_id = record_event(ws.db, "demo.artifact", digest, {"bytes": len(payload)},
                            principal=ws.settings.principal)
    latest = list_events(ws.db, kind="demo.artifact", limit=1)[0]
    ctx.did(f"recorded event #{event_id} ({latest['kind']}) in the metadata database",
            ws.settings.database_url)
    ctx.state["demo_artifact"] = digest
