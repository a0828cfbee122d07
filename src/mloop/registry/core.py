"""The approval workflow on MLflow's model registry.

MLflow assigns version numbers and stores the models; mloop's metadata database holds each
version's approval status (the source of truth) and an append-only audit trail. The status is
mirrored into the MLflow version tag `mloop.approval_status` through an outbox entry written in
the same transaction (`mloop.registry.tagsync`): a decision never waits for, or fails on,
MLflow, and the CLI decides without importing it; the tag follows when the outbox drains. Status changes run in one
transaction that locks the version row (SQLite `BEGIN IMMEDIATE`, PostgreSQL `FOR UPDATE`), so
concurrent approvers queue and the history stays consistent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from mloop.auth import acting_principal, normalize
from mloop.errors import InvalidInput, MloopError, did_you_mean
from mloop.registry.events import StatusChange, publish
from mloop.registry.model import (
    APPROVED,
    PENDING,
    REJECTED,
    STATUS_TAG,
    ApprovalConflict,
    CommentRequired,
    FourEyesViolation,
    ModelNotFound,
    ModelVersion,
    ModelVersionNotFound,
    NoApprovedVersion,
    PrincipalRequired,
    RegisteredModel,
    Transition,
)
from mloop.store.encoding import json_default

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def register(
    ws: Workspace, name: str, model_uri: str | None = None, *, run_id: str | None = None,
    metrics: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None,
    principal: str | None = None,
) -> ModelVersion:
    """Create a new version of model `name` from `model_uri`; it starts PendingManualApproval.

    When a version of `name` already holds the same model files (by digest), that version is
    returned with `reused=True` instead: an unchanged re-run registers nothing new.

    Args:
        model_uri: what `mloop.tracking.log_model` returned (`models:/m-...`) or `runs:/RUN/NAME`;
            when omitted, the model named "model" that run `run_id` logged.
        run_id: the training run (taken from the logged model when omitted).
        metrics: evaluation metrics shown next to the version (e.g. {"auc": 0.91}).
        metadata: anything else worth keeping (pipeline run id, data version...).
        principal: who registers; defaults to `settings.principal`.

    Raises:
        InvalidInput: bad model name or empty URI.
        TrackingUnavailable / TrackingNotFound: MLflow cannot be reached or the model is unknown.
    """
    from mloop.registry.lifecycle import DIGEST_KEY, same_files
    from mloop.registry.tables import registry_versions
    from mloop.tracking import model_registry
    from mloop.tracking.models import model_digest

    _check_name(name)
    if not model_uri and run_id:
        model_uri = f"runs:/{run_id}/model"
    if not model_uri:
        raise InvalidInput("register needs a model_uri or a run_id",
                           hint="Pass the URI `mloop.tracking.log_model` returned, or the training run's id.")
    digest = model_digest(ws, model_uri)
    same = same_files(ws, name, digest, (metadata or {}).get("pipeline_run_id")) if digest else None
    if same is not None:
        return same
    principal = normalize(principal) or acting_principal(ws)
    tags = {STATUS_TAG: PENDING, "mloop.registered_by": principal or ""}
    created = model_registry.create_version(ws, name, model_uri, run_id=run_id, tags=tags)
    now = datetime.now(UTC)
    row = {
        "name": name, "version": created["version"], "status": PENDING,
        "model_uri": f"models:/{name}/{created['version']}", "source": created["source"] or model_uri,
        "run_id": created["run_id"] or run_id, "metrics": _jsonable(metrics),
        "meta": {**_jsonable(metadata), **({DIGEST_KEY: digest} if digest else {})},
        "created_at": created["created_at"] or now, "registered_by": principal,
        "decided_by": None, "decided_at": None, "comment": None,
    }
    with ws.db.begin() as conn:
        conn.execute(registry_versions.insert().values(**row))
        _audit(conn, name, row["version"], None, PENDING, principal, now, None)
    version = ModelVersion.from_row(row)
    publish(ws, _event(ws, version, None, principal, None, now))
    from mloop.registry.policy import apply_policy

    return _synced(ws, apply_policy(ws, version), True)


def approve(
    ws: Workspace, name: str, version: int, *, principal: str | None = None, comment: str | None = None,
    sync_mlflow: bool = True,
) -> ModelVersion:
    """Approve a version: it becomes deployable as the latest approved.

    Raises:
        ModelNotFound / ModelVersionNotFound: unknown model or version (the hint lists them).
        ApprovalConflict: the version is already Approved.
        CommentRequired: `registry.require_comment` is on and no comment was given.
        PrincipalRequired: no principal and `registry.require_principal` is on.
        FourEyesViolation: `registry.require_distinct_approver` is on and you registered it.

    `sync_mlflow=False` leaves the MLflow tag to the outbox (the CLI: no MLflow import).
    """
    decided = _with_adoption(ws, name, version, lambda: transition(ws, name, version, APPROVED, principal, comment))
    return _synced(ws, decided, sync_mlflow)


def reject(
    ws: Workspace, name: str, version: int, *, principal: str | None = None, comment: str | None = None,
    sync_mlflow: bool = True,
) -> ModelVersion:
    """Reject a version (also revokes an approval): it will never be resolved as latest approved.

    Raises:
        The same errors as `approve` (except the four-eyes rule, which guards approvals only).
    """
    decided = _with_adoption(ws, name, version, lambda: transition(ws, name, version, REJECTED, principal, comment))
    return _synced(ws, decided, sync_mlflow)


def _synced(ws: Workspace, version: ModelVersion, sync_mlflow: bool) -> ModelVersion:
    if sync_mlflow:
        from mloop.registry.tagsync import drain_tags

        drain_tags(ws)
    return version


def _with_adoption(ws: Workspace, name: str, version: int, action: Callable[[], ModelVersion]) -> ModelVersion:
    """Run `action`; if the version is unknown to mloop but MLflow has it, adopt it and retry."""
    from mloop.registry.adopt import adopt

    try:
        return action()
    except (ModelNotFound, ModelVersionNotFound):
        if not adopt(ws, name, _check_version(version)):
            raise
    return action()


def _with_sync(ws: Workspace, name: str, action: Callable[[], Any]) -> Any:
    """Run `action`; if mloop knows no version of `name` but MLflow does, adopt them and retry."""
    from mloop.registry.adopt import sync

    try:
        return action()
    except ModelNotFound:
        try:
            adopted = sync(ws, name)
        except MloopError:
            adopted = []
        if not adopted:
            raise
    return action()


def transition(
    ws: Workspace, name: str, version: int, to: str, principal: str | None, comment: str | None,
    *, four_eyes: bool | None = None,
) -> ModelVersion:
    """Move a version to `to` in one locked transaction (the audit trail and the tag's outbox
    entry with it); `four_eyes` overrides `registry.require_distinct_approver` (policies)."""
    with ws.db.begin() as conn:
        updated, event = transition_in(conn, ws, name, version, to, principal, comment, four_eyes=four_eyes)
    publish(ws, event)
    return updated


def transition_in(
    conn: Connection, ws: Workspace, name: str, version: int, to: str, principal: str | None,
    comment: str | None, *, four_eyes: bool | None = None,
) -> tuple[ModelVersion, StatusChange]:
    """A status change inside the caller's transaction (`mloop.serving` rejects and rolls back its
    endpoints in one); the caller publishes the returned event once it has committed. MLflow's
    tag follows through the outbox entry written in the same transaction."""
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t
    from mloop.registry.tagsync import queue_tag

    policy = ws.settings.registry
    distinct = policy.require_distinct_approver if four_eyes is None else four_eyes
    principal = normalize(principal) or acting_principal(ws)
    comment = (comment or "").strip() or None
    version = _check_version(version)
    found = conn.execute(
        select(t).where(t.c.name == name, t.c.version == version).with_for_update()
    ).first()
    if found is None:
        _raise_missing(conn, name, version)
    now = datetime.now(UTC)  # once the lock is held, so the trail's times follow its order
    row = dict(found._mapping)
    _check_policy(name, version, to, principal, comment, policy)
    _check_allowed(row, to, principal, distinct)
    changes = {"status": to, "decided_by": principal, "decided_at": now, "comment": comment}
    conn.execute(t.update().where(t.c.id == row["id"]).values(**changes))
    _audit(conn, name, version, row["status"], to, principal, now, comment)
    queue_tag(ws, conn, name, version, STATUS_TAG, to)
    updated = ModelVersion.from_row({**row, **changes})
    return updated, _event(ws, updated, row["status"], principal, comment, now)


def _check_policy(
    name: str, version: int, to: str, principal: str | None, comment: str | None, policy: Any
) -> None:
    verb = "approve" if to == APPROVED else "reject"
    if principal is None and policy.require_principal:
        raise PrincipalRequired(f"cannot {verb} {name} version {version}: no principal")
    if comment is None and policy.require_comment:
        raise CommentRequired(
            f"a comment is required to {verb} {name} version {version} (registry.require_comment)",
            hint=f'mloop models {verb} {name} {version} --comment "why"',
        )


def _check_allowed(row: dict[str, Any], to: str, principal: str | None, four_eyes: bool) -> None:
    name, version = row["name"], row["version"]
    if row["status"] == to:
        by = f" by {row['decided_by']}" if row["decided_by"] else ""
        raise ApprovalConflict(
            f"{name} version {version} is already {to}{by}",
            hint=f"See `mloop models history {name}`; nothing changed.",
        )
    registrant = normalize(row["registered_by"])
    if to == APPROVED and four_eyes and registrant is None:
        raise FourEyesViolation(
            f"{name} version {version} has no recorded registrant, so the four-eyes rule cannot be checked "
            "(registry.require_distinct_approver)",
            hint="Register it again from a pipeline run (which records who started it), or reject it.",
        )
    if to == APPROVED and four_eyes and principal and normalize(principal) == registrant:
        raise FourEyesViolation(
            f"{principal} registered {name} version {version} and cannot also approve it "
            "(four-eyes rule: registry.require_distinct_approver)",
            hint=f"Ask another approver to run `mloop models approve {name} {version} --comment ...`.",
        )


def get_version(ws: Workspace, name: str, version: int) -> ModelVersion:
    """One version of `name`.

    Raises:
        ModelNotFound / ModelVersionNotFound: with the known names or versions in the hint.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    version = _check_version(version)

    def read() -> ModelVersion:
        with ws.db.begin() as conn:
            found = conn.execute(select(t).where(t.c.name == name, t.c.version == version)).first()
            if found is None:
                _raise_missing(conn, name, version)
            return ModelVersion.from_row(dict(found._mapping))

    return _with_adoption(ws, name, version, read)


def versions(ws: Workspace, name: str) -> list[ModelVersion]:
    """Every version of `name`, oldest first, with status, metrics, run and who decided.

    Raises:
        ModelNotFound: no version of `name` was ever registered.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    def read() -> list[ModelVersion]:
        with ws.db.begin() as conn:
            query = select(t).where(t.c.name == name).order_by(t.c.version)
            rows = [dict(r._mapping) for r in conn.execute(query)]
            if not rows:
                _raise_missing(conn, name, None)
        return [ModelVersion.from_row(r) for r in rows]

    return list(_with_sync(ws, name, read))


def latest_approved(ws: Workspace, name: str) -> ModelVersion:
    """The newest Approved version of `name` by version number: what "deploy the latest" means.

    Raises:
        ModelNotFound: unknown model.
        NoApprovedVersion: the model exists but no version is Approved (the hint says which to approve).
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    def resolve() -> ModelVersion:
        with ws.db.begin() as conn:
            found = conn.execute(
                select(t).where(t.c.name == name, t.c.status == APPROVED).order_by(t.c.version.desc()).limit(1)
            ).first()
            if found is not None:
                return ModelVersion.from_row(dict(found._mapping))
            rows = conn.execute(select(t.c.version, t.c.status).where(t.c.name == name).order_by(t.c.version)).all()
            if not rows:
                _raise_missing(conn, name, None)
        listing = ", ".join(f"v{v} {s}" for v, s in rows)
        pending = [v for v, s in rows if s == PENDING]
        hint = (f"Approve one: `mloop models approve {name} {pending[-1]} --comment \"...\"`" if pending
                else f"Register a new version of {name} and approve it.")
        raise NoApprovedVersion(f"model {name} has no Approved version ({listing})", hint=hint)

    return _with_sync(ws, name, resolve)  # type: ignore[no-any-return]


def list_models(ws: Workspace) -> list[RegisteredModel]:
    """Every registered model with its version counts, newest version and newest Approved one."""
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    with ws.db.begin() as conn:
        columns = select(t.c.name, t.c.version, t.c.status, t.c.created_at)
        rows = conn.execute(columns.order_by(t.c.name, t.c.version)).all()
    models: dict[str, RegisteredModel] = {}
    for name, version, status, created in rows:
        m = models.get(name) or RegisteredModel(name, 0, 0, None, 0, 0, 0, created)
        m.versions += 1
        m.latest_version = max(m.latest_version, version)
        m.last_registered_at = max(m.last_registered_at, created)
        m.pending += status == PENDING
        m.approved += status == APPROVED
        m.rejected += status == REJECTED
        if status == APPROVED:
            m.latest_approved = max(m.latest_approved or 0, version)
        models[name] = m
    return list(models.values())


def history(ws: Workspace, name: str, version: int | None = None) -> list[Transition]:
    """The audit trail of `name` (optionally one version), oldest first.

    Raises:
        ModelNotFound: unknown model.
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_audit as a

    query = select(a).where(a.c.name == name).order_by(a.c.id)
    if version is not None:
        query = query.where(a.c.version == _check_version(version))
    with ws.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            _raise_missing(conn, name, version)
    return [Transition(**r) for r in rows]


def _raise_missing(conn: Connection, name: str, version: int | None) -> NoReturn:
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as t

    known = [v for (v,) in conn.execute(select(t.c.version).where(t.c.name == name).order_by(t.c.version))]
    if not known:
        names = [n for (n,) in conn.execute(select(t.c.name).distinct())]
        raise ModelNotFound(f"model '{name}' is not registered",
                            hint=did_you_mean(name, names) + ". See `mloop models list`.")
    raise ModelVersionNotFound(
        f"model {name} has no version {version}",
        hint=f"known versions: {', '.join(map(str, known))}. See `mloop models show {name}`.",
    )


def _audit(conn: Connection, name: str, version: int, from_status: str | None, to: str,
           principal: str | None, at: datetime, comment: str | None) -> None:
    from mloop.registry.tables import registry_audit
    from mloop.store.events import append_event

    conn.execute(registry_audit.insert().values(
        name=name, version=version, from_status=from_status, to_status=to, principal=principal,
        at=at, comment=comment,
    ))
    append_event(conn, "registry.status_changed", f"{name}/{version}",
                 {"from": from_status, "to": to, "comment": comment}, principal, at=at)


def _event(ws: Workspace, v: ModelVersion, from_status: str | None, principal: str | None,
           comment: str | None, at: datetime) -> StatusChange:
    return StatusChange(v.name, v.version, from_status, v.status, principal, comment, at, v.model_uri,
                        str(ws.root))


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}",
            hint="Use letters, digits, '.', '_' and '-' (start with a letter or digit), e.g. ad-click-ctr.",
        )


def _check_version(version: Any) -> int:
    text = str(version).strip()
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"invalid model version {version!r}", hint="Versions are positive integers: 1, 2, 3...")
    return int(text)


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    import json

    try:
        return json.loads(json.dumps(dict(data or {}), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"metrics and metadata must be JSON-serializable: {exc}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return json_default(value)  # numpy scalars
