"""Chapter: a git commit releases a model — hook, train & register, approval, deploy, verify."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.demo import DemoContext
from mloop.demo.processes import free_port, start_mloop
from mloop.errors import MloopError
from mloop.release import approve_release, get_release, install_hook, list_releases
from mloop.release.project_template import PIPELINE_MODULE, SOURCE, VERIFY_RECORD
from mloop.store import open_workspace

if TYPE_CHECKING:
    from mloop.release import Release
    from mloop.store import Workspace

TITLE = "Releases: commit → train & register → approval → deploy → verify"
NEEDS: tuple[str, ...] = ()
ENDPOINT = "ctr-release"
MODEL = "ctr-release-model"
TIMEOUT_S = 240.0


def run(ctx: DemoContext) -> None:
    root = ctx.workspace.root
    port = free_port()
    _make_project(ctx, root, port)
    url = _start_server(ctx, root, port)
    ws = _open(root)
    try:
        hook = install_hook(ws)
        ctx.did("installed the git post-commit hook (every commit starts a release)", str(hook))
        _git(root, "commit", "-q", "-am", "ctr: 30 trees", edit=lambda: _set_trees(root, 30))
        ctx.did("committed a parameter change (n_estimators 20 → 30); the hook started a release",
                str(root / ".mloop" / "releases" / "hook.log"))
        seen: dict[str, str] = {}
        release = _follow(ctx, ws, _newest(ws), seen, until_approval=True)
        ctx.say(f"release {release.id} waits: {MODEL} v{release.model_version} is PendingManualApproval "
                f"(try `mloop release status {release.id}`)")
        approve_release(ws, release.id, principal="demo-approver", comment="AUC above the gate; ship it")
        ctx.did(f"demo-approver approved {MODEL} v{release.model_version} "
                f"(`mloop release approve {release.id} -m ...`)")
        release = _follow(ctx, ws, release.id, seen, until_approval=False)
        _show_result(ctx, release, url)
        ctx.state.update(release_id=release.id, release_status=release.status,
                         release_endpoint=ENDPOINT, release_url=url)
    finally:
        ws.close()


def _git(root: Path, *args: str, edit: Any = None) -> str:
    if edit is not None:
        edit()
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise MloopError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _release_toml(port: int, trees: int) -> str:
    record = ", ".join(f"{k} = {json.dumps(v)}" for k, v in VERIFY_RECORD.items())
    return (f'\n[release]\npipeline = "{PIPELINE_MODULE}:ctr"\nmodel = "{MODEL}"\nendpoint = "{ENDPOINT}"\n'
            f'parameters = {{ rows = 600, n_estimators = {trees}, model_name = "{MODEL}" }}\n'
            f'poll_interval = 0.2\nverify_url = "http://127.0.0.1:{port}"\nverify_payload = [{{ {record} }}]\n')


def _set_trees(root: Path, trees: int) -> None:
    import re

    toml = root / "mloop.toml"
    text = re.sub(r"n_estimators = \d+", f"n_estimators = {trees}", toml.read_text())
    toml.write_text(text)


def _make_project(ctx: DemoContext, root: Path, port: int) -> None:

    (root / f"{PIPELINE_MODULE}.py").write_text(SOURCE, encoding="utf-8")
    toml = root / "mloop.toml"
    toml.write_text(toml.read_text() + _release_toml(port, 20))
    ignore = root / ".gitignore"
    ignore.write_text((ignore.read_text() if ignore.exists() else "") + "__pycache__/\n*.log\n")
    if not (root / ".git").exists():
        _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "mloop demo")
    _git(root, "config", "user.email", "demo@mloop.invalid")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "ctr project: pipeline + [release] settings")
    ctx.did(f"made the workspace a git repository with a CTR pipeline ({PIPELINE_MODULE}.py) "
            "and \\[release] settings", str(toml))


def _start_server(ctx: DemoContext, root: Path, port: int) -> str:
    url = start_mloop(ctx, ["serve", ENDPOINT, "--poll-interval", "0.2"], log_name="release-demo-server.log",
                      port=port, root=root, env=_env())
    ctx.did(f"started the model server of endpoint '{ENDPOINT}' (no model yet)", url)
    return url


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _open(root: Path) -> Workspace:
    return open_workspace(root)  # re-read: the settings now have [release]


def _newest(ws: Workspace) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list_releases(ws.db, limit=1)
        if found:
            return found[0].id
        time.sleep(0.2)
    raise MloopError("the post-commit hook started no release",
                     hint=f"See {ws.root / '.mloop' / 'releases' / 'hook.log'}")


def _follow(ctx: DemoContext, ws: Workspace, release_id: int, seen: dict[str, str], *,
            until_approval: bool) -> Release:
    """Print each stage as it changes; stop at the approval wait or at the end."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        release = get_release(ws.db, release_id)
        for stage in release.stages:
            if stage.status != "Pending" and seen.get(stage.name) != stage.status:
                seen[stage.name] = stage.status
                ctx.say(f"[dim]release {release.id}[/] {stage.name:<13} {stage.status}  "
                        f"[dim]{_note(stage)}[/]")
        waiting = release.stage_record("Approval").status == "Executing"
        if release.finished or (until_approval and waiting):
            if release.status in ("Failed", "Rejected"):
                raise MloopError(f"release {release.id} ended {release.status}: {release.message}",
                                 hint=f"See {ws.root / '.mloop' / 'releases' / f'{release.id}.log'}")
            return release
        time.sleep(0.2)
    raise MloopError(f"release {release_id} did not progress within {TIMEOUT_S:g} s",
                     hint=f"See {ws.root / '.mloop' / 'releases' / f'{release_id}.log'}")


def _note(stage: Any) -> str:
    from rich.markup import escape

    out = stage.outputs
    if stage.name == "Source" and "commit" in out:
        return escape(f"commit {out['commit'][:10]} on {out['branch']}, pipeline {out['pipeline_hash'][:12]}")
    if stage.name == "TrainRegister" and "model_version" in out:
        return escape(f"run {out['run_id']} registered v{out['model_version']}")
    if stage.name == "Approval" and out.get("approved_by"):
        return escape(f"approved by {out['approved_by']}: {out.get('comment') or ''}")
    if stage.name == "Verify" and "checks" in out:
        return escape(", ".join(f"{c['protocol']} → v{c['version']} ({c['ms']} ms)" for c in out["checks"]))
    if stage.name == "Deploy" and "generation" in out:
        return escape(f"v{out['version']} → {ENDPOINT}/{out['variant']} ({out['weight']}%)")
    return escape(stage.detail or "")


def _show_result(ctx: DemoContext, release: Release, url: str) -> None:
    import httpx

    resp = httpx.post(f"{url}/invocations", json={"instances": [VERIFY_RECORD]}, timeout=10)
    score = resp.json()["predictions"][0]
    ctx.did(f"release {release.id} {release.status}: {ENDPOINT} answers with "
            f"X-Mloop-Model-Version {resp.headers.get('x-mloop-model-version')} "
            f"(click probability {score:.3f})", f"{url}/invocations")
    ctx.say(f"try: [bold]mloop release list[/] · [bold]mloop release status {release.id}[/]")
