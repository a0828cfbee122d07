"""What users do with releases: start, resume, approve, reject, follow.

These functions return data; the CLI prints it. Starting checks everything a user can get wrong
(no endpoint configured, a dirty tree, another release waiting for approval) before any record is
written, so a refused start leaves nothing behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop import registry
from mloop.auth import acting_principal, normalize
from mloop.errors import ConfigError, Conflict
from mloop.release import records
from mloop.release.drivers import STALE_AFTER_S, TERMINAL, this_driver
from mloop.release.engine import OnChange, StageFn, run_release
from mloop.release.errors import ReleaseInFlight, ReleaseRefused
from mloop.release.lock import ensure_endpoint_row, lock_endpoint_row
from mloop.release.records import Release, get_release
from mloop.release.source import check_clean, inspect_source
from mloop.release.tables import releases
from mloop.serving.endpoints.retire import reject_version  # refuses while an endpoint serves the version

if TYPE_CHECKING:
    from mloop.config import ReleaseSettings
    from mloop.store import Workspace

_SNIPPET = '[release]\npipeline = "ad-click-ctr"\nmodel = "ad-click-ctr"\nendpoint = "ctr"'


def release_settings(ws: Workspace) -> ReleaseSettings:
    """The `[release]` settings, checked for what a release cannot do without.

    Raises:
        ConfigError: no endpoint, model or pipeline configured.
    """
    cfg = ws.settings.release
    for key, env in (("endpoint", "MLOOP_RELEASE__ENDPOINT"), ("model", "MLOOP_RELEASE__MODEL"),
                     ("pipeline", "MLOOP_RELEASE__PIPELINE")):
        if not getattr(cfg, key):
            raise ConfigError(
                f"no {key} configured for releases",
                hint=f"Add `{key} = \"...\"` under [release] in {ws.root / 'mloop.toml'} (or set {env}), "
                f"e.g.\n{_SNIPPET}",
            )
    return cfg


def _options(cfg: ReleaseSettings, commit: str | None, allow_dirty: bool) -> dict[str, Any]:
    keep = ("canary_weight", "use_latest_approved", "approval_timeout", "verify_payload", "verify_url",
            "poll_interval", "deploy_lock_timeout")
    return {**{k: getattr(cfg, k) for k in keep}, "commit": commit, "allow_dirty": allow_dirty}


def create_release(
    ws: Workspace, *, commit: str | None = None, allow_dirty: bool = False,
    params: Mapping[str, Any] | None = None, principal: str | None = None,
    trigger: Mapping[str, Any] | None = None,
) -> Release:
    """Check the configuration and the source tree, then record a new Pending release.

    Args:
        trigger: what started the release when no person did (a drift alert and its report);
            recorded in its options. A triggered release is refused while any release of the
            same model is unfinished, so a burst of alerts starts one retraining, not many.

    Raises:
        ConfigError: `[release]` lacks an endpoint, model or pipeline.
        InvalidInput: not a git repository, unknown commit, or a dirty tree without `allow_dirty`.
        ReleaseRefused: another release of the same endpoint waits for approval.
        ReleaseInFlight: `trigger` given and a release of the same model is unfinished.
    """
    cfg = release_settings(ws)
    info = inspect_source(ws.root, commit)
    check_clean(info, allow_dirty)
    assert cfg.endpoint and cfg.model and cfg.pipeline  # checked by release_settings
    ensure_endpoint_row(ws.db, cfg.endpoint)
    with ws.db.begin() as conn:
        lock_endpoint_row(conn, cfg.endpoint)  # serializes concurrent starts of one endpoint
        if trigger is not None:
            _refuse_if_in_flight(conn, cfg.model)
        _refuse_if_waiting(conn, cfg.endpoint)
        options = {**_options(cfg, commit or info.commit, allow_dirty), "source": info.to_dict()}
        if trigger is not None:
            options["trigger"] = dict(trigger)
        release_id = records.insert_release(conn, {
            "endpoint": cfg.endpoint, "model": cfg.model, "pipeline": cfg.pipeline,
            "params": {**cfg.parameters, **(params or {})},
            "options": options,
            "commit": info.commit, "branch": info.branch, "created_by": normalize(principal) or acting_principal(ws),
        })
    return get_release(ws.db, release_id)


def _refuse_if_in_flight(conn: Any, model: str) -> None:
    busy = conn.execute(
        select(releases.c.id, releases.c.stage, releases.c.status)
        .where(releases.c.model == model, releases.c.status.not_in(TERMINAL))
        .order_by(releases.c.id)
    ).first()
    if busy is not None:
        raise ReleaseInFlight(
            f"release {busy.id} of model '{model}' is still in flight ({busy.status} at stage {busy.stage})",
            hint=f"See `mloop release status {busy.id}`: approve or reject it when it waits, "
            f"`mloop release resume {busy.id}` when no process drives it.",
            release_id=int(busy.id),
        )


def _refuse_if_waiting(conn: Any, endpoint: str) -> None:
    waiting = conn.execute(
        select(releases.c.id, releases.c.model, releases.c.model_version)
        .where(releases.c.endpoint == endpoint, releases.c.stage == "Approval",
               releases.c.status.not_in(TERMINAL))
        .order_by(releases.c.id)
    ).first()
    if waiting is not None:
        raise ReleaseRefused(
            f"release {waiting.id} for endpoint '{endpoint}' is waiting for approval of "
            f"{waiting.model} v{waiting.model_version}; a new release would race it",
            hint=f"Decide on it first: `mloop release approve {waiting.id}` or `mloop release reject "
            f"{waiting.id}`, then start again.",
        )


def start_release(
    ws: Workspace, *, commit: str | None = None, allow_dirty: bool = False, detach: bool = False,
    stages: Mapping[str, StageFn] | None = None, on_change: OnChange | None = None,
    principal: str | None = None,
) -> Release:
    """Start a release of the configured pipeline/model/endpoint at the checked-out commit.

    Args:
        ws: the workspace (inside a git working tree).
        commit: the commit expected to be checked out (the hook passes the one just made).
        allow_dirty: release even with uncommitted changes (recorded as dirty).
        detach: drive it from a background process (log in `.mloop/releases/ID.log`) and return.
        stages: stage implementations replacing the real ones (tests).
        on_change: called after every recorded transition (foreground only).
        principal: who starts it (default: the acting principal); its run and deploy are theirs.

    Returns:
        The release: finished when run in the foreground, Pending when detached.

    Raises:
        ConfigError, InvalidInput, ReleaseRefused: see `create_release`.
    """
    release = create_release(ws, commit=commit, allow_dirty=allow_dirty, principal=principal)
    if detach:
        spawn_driver(ws, release.id)
        return get_release(ws.db, release.id)
    return run_release(ws, release.id, stages=stages, on_change=on_change)


def resume_release(
    ws: Workspace, release_id: int, *, stages: Mapping[str, StageFn] | None = None,
    on_change: OnChange | None = None, detach: bool = False, idle_exit_s: float | None = None,
) -> Release:
    """Continue a release from its first unfinished stage (after a crash or an interrupt).

    `idle_exit_s` bounds how long this process waits for an approval (background drivers: the
    release stays waiting, undriven, and a decision through `approve_release` drives it on).

    Raises:
        NotFound: no such release.
        Conflict: it already finished, or a live process is driving it.
    """
    if detach:
        release = get_release(ws.db, release_id)
        if release.finished or release.driven:
            records.claim(ws.db, release_id, this_driver())  # raises the right Conflict
        spawn_driver(ws, release_id)
        return get_release(ws.db, release_id)
    return run_release(ws, release_id, stages=stages, on_change=on_change, idle_exit_s=idle_exit_s)


def log_path(ws: Workspace, release_id: int) -> Path:
    """Where a background driver of the release writes its log."""
    path = ws.state_dir / "releases"
    path.mkdir(parents=True, exist_ok=True)
    return path / f"{release_id}.log"


def spawn_driver(ws: Workspace, release_id: int) -> int:
    """Drive the release from a detached `mloop release resume ID` process; return its pid.

    The process ends with the release, or after `[release] driver_idle_s` of waiting for an
    approval (a detached helper never lingers; `approve_release` starts a new one)."""
    log = log_path(ws, release_id)
    env = {**os.environ, "MLOOP_WORKSPACE": str(ws.root)}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mloop", "release", "resume", str(release_id), "--background"],
            cwd=ws.root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the terminal or hook that started it
        )
    return proc.pid


def _decidable(ws: Workspace, release_id: int, verb: str) -> Release:
    release = get_release(ws.db, release_id)
    if release.finished:
        raise Conflict(
            f"release {release_id} already finished ({release.status}); nothing to {verb}",
            hint="Start a new release with `mloop release start`; see `mloop release list`.",
        )
    if release.model_version is not None and release.stage != "Approval":
        raise Conflict(
            f"release {release_id} is past its approval (stage {release.stage} is "
            f"{release.stage_record(release.stage or 'Deploy').status}); nothing to {verb}",
            hint=f"Follow it with `mloop release status {release_id} --watch`.",
        )
    if release.model_version is None:
        stage = release.stage_record(release.stage or "Source")
        raise Conflict(
            f"release {release_id} has not registered a model version yet "
            f"(stage {stage.name} is {stage.status})",
            hint=f"Wait until it waits for approval: `mloop release status {release_id} --watch`.",
        )
    return release


def approve_release(
    ws: Workspace, release_id: int, *, principal: str | None = None, comment: str | None = None
) -> Release:
    """Approve the model version the release registered, through the registry and its rules.

    Raises:
        Conflict: the release finished, or has no model version yet.
        PermissionDenied, InvalidInput: the registry's policy (four-eyes, comment required...).
    """
    release = _decidable(ws, release_id, "approve")
    registry.approve(ws, release.model, int(release.model_version or 0),
                     principal=principal or acting_principal(ws), comment=comment)
    release = get_release(ws.db, release_id)
    if not release.driven and not release.finished and release.outputs("Approval").get("driver_idle_at"):
        spawn_driver(ws, release_id)  # its background driver stopped waiting (after a crash: `resume`)
    return release


def reject_release(
    ws: Workspace, release_id: int, *, principal: str | None = None, comment: str | None = None
) -> Release:
    """Reject the release's model version; the release ends Rejected.

    Raises:
        Conflict: the release finished, or has no model version yet.
        PermissionDenied, InvalidInput: the registry's policy.
    """

    release = _decidable(ws, release_id, "reject")
    reject_version(ws, release.model, int(release.model_version or 0),
                   principal=principal or acting_principal(ws), comment=comment)
    release = get_release(ws.db, release_id)
    if not release.driven and not release.finished:  # nobody is waiting to notice: end it here
        who = normalize(principal) or acting_principal(ws)
        release = records.end_release(
            ws.db, release_id, None, "Approval", status="Rejected",
            error=f"{release.model} v{release.model_version} was rejected by {who}",
        )
    return release


def watch_release(
    ws: Workspace, release_id: int, on_change: OnChange, *, poll: float = 1.0,
    timeout: float | None = None, orphan_grace: float = STALE_AFTER_S,
) -> Release:
    """Follow a release until it finishes, calling `on_change` whenever its record changes.

    Returns early (unfinished) after `timeout`, or when no process has driven the release for
    `orphan_grace` seconds (its driver died: waiting longer would wait forever).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: Any = None
    undriven_since: float | None = None
    while True:
        release = get_release(ws.db, release_id)
        key = (release.status, release.stage, [(s.status, s.detail, s.attempts) for s in release.stages])
        if key != seen:
            on_change(release)
            seen = key
        if release.finished or (deadline is not None and time.monotonic() > deadline):
            return release
        if release.driven:
            undriven_since = None
        elif undriven_since is None:
            undriven_since = time.monotonic()
        elif time.monotonic() - undriven_since > orphan_grace:
            return release
        time.sleep(poll)
