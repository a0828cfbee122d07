"""The approval workflow: `approve`, `reject`, and the locked transition both go through.

mloop's metadata database holds each version's approval status (the source of truth) and an
append-only audit trail. The status is mirrored into the MLflow version tag
`mloop.approval_status` through an outbox entry written in the same transaction
(`mloop.registry.tagsync`): a decision never waits for, or fails on, MLflow, and the CLI decides
without importing it; the tag follows when the outbox drains. Status changes run in one
transaction that locks the version row (SQLite `BEGIN IMMEDIATE`, PostgreSQL `FOR UPDATE`), so
concurrent approvers queue and the history stays consistent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal, normalize
from mloop.registry.audit import write_audit
from mloop.registry.errors import (
    ApprovalConflict,
    CommentRequired,
    FourEyesViolation,
    PrincipalRequired,
)
from mloop.registry.events import StatusChange, publish, status_change
from mloop.registry.lookup import raise_missing, with_adoption
from mloop.registry.records import APPROVED, REJECTED, STATUS_TAG, ModelVersion, check_version
from mloop.registry.tagsync import drain_tags, queue_tag

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


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
    decided = with_adoption(ws, name, version, lambda: transition(ws, name, version, APPROVED, principal, comment))
    return synced(ws, decided, sync_mlflow)


def reject(
    ws: Workspace, name: str, version: int, *, principal: str | None = None, comment: str | None = None,
    sync_mlflow: bool = True,
) -> ModelVersion:
    """Reject a version (also revokes an approval): it will never be resolved as latest approved.

    Raises:
        The same errors as `approve` (except the four-eyes rule, which guards approvals only).
    """
    decided = with_adoption(ws, name, version, lambda: transition(ws, name, version, REJECTED, principal, comment))
    return synced(ws, decided, sync_mlflow)


def synced(ws: Workspace, version: ModelVersion, sync_mlflow: bool) -> ModelVersion:
    """`version`, after delivering the pending MLflow tags when `sync_mlflow` is set."""
    if sync_mlflow:
        drain_tags(ws)
    return version


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

    policy = ws.settings.registry
    distinct = policy.require_distinct_approver if four_eyes is None else four_eyes
    principal = normalize(principal) or acting_principal(ws)
    comment = (comment or "").strip() or None
    version = check_version(version)
    found = conn.execute(
        select(t).where(t.c.name == name, t.c.version == version).with_for_update()
    ).first()
    if found is None:
        raise_missing(conn, name, version)
    now = datetime.now(UTC)  # once the lock is held, so the trail's times follow its order
    row = dict(found._mapping)
    _check_policy(name, version, to, principal, comment, policy)
    _check_allowed(row, to, principal, distinct)
    changes = {"status": to, "decided_by": principal, "decided_at": now, "comment": comment}
    conn.execute(t.update().where(t.c.id == row["id"]).values(**changes))
    write_audit(conn, name, version, row["status"], to, principal, now, comment)
    queue_tag(ws, conn, name, version, STATUS_TAG, to)
    updated = ModelVersion.from_row({**row, **changes})
    return updated, status_change(ws, updated, row["status"], principal, comment, now)


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
