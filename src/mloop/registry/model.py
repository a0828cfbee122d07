"""The registry's data: statuses, `ModelVersion`, history entries, and its errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mloop.errors import Conflict, InvalidInput, NotFound, PermissionDenied

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
STATUS_TAG = "mloop.approval_status"
DIGEST_KEY = "files_digest"  # metadata key of `tracking.model_digest` (registry.lifecycle writes it)


@dataclass
class ModelVersion:
    """One registered model version and its approval state.

    `approved_by` / `approved_at` are set while the status is Approved; `decided_by` /
    `decided_at` name whoever made the latest decision (approve or reject).
    """

    name: str
    version: int
    status: str
    model_uri: str
    run_id: str | None
    metrics: dict[str, Any]
    created_at: datetime
    registered_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    comment: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reused: bool = False  # register found these files in this version instead of making a new one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def model_digest(self) -> str | None:
        """`tracking.model_digest` of the model files, recorded at registration (None: not recorded)."""
        value = self.metadata.get(DIGEST_KEY)
        return str(value) if value else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelVersion:
        approved = row["status"] == APPROVED
        return cls(
            name=row["name"], version=int(row["version"]), status=row["status"],
            model_uri=row["model_uri"], run_id=row["run_id"], metrics=dict(row["metrics"] or {}),
            created_at=row["created_at"], registered_by=row["registered_by"],
            approved_by=row["decided_by"] if approved else None,
            approved_at=row["decided_at"] if approved else None,
            comment=row["comment"], metadata=dict(row["meta"] or {}), source=row["source"],
            decided_by=row["decided_by"], decided_at=row["decided_at"],
        )


@dataclass
class Transition:
    """One audit entry: a version moved from one status to another, by whom, when, why."""

    id: int
    name: str
    version: int
    from_status: str | None
    to_status: str
    principal: str | None
    at: datetime
    comment: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RegisteredModel:
    """A registered model's summary: how many versions, the newest, the newest Approved."""

    name: str
    versions: int
    latest_version: int
    latest_approved: int | None
    pending: int
    approved: int
    rejected: int
    last_registered_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelNotFound(NotFound):
    """No registered model of that name (the registry's; a model server's is `ModelNotServed`)."""

    code = "model_not_found"


class ModelVersionNotFound(NotFound):
    """The registered model has no version of that number."""

    code = "model_version_not_found"


class NoApprovedVersion(NotFound):
    """`latest_approved` found no Approved version: nothing may be deployed as "latest"."""

    code = "no_approved_version"


class ApprovalConflict(Conflict):
    """The version already has the status asked for (approving an Approved version)."""

    code = "approval_conflict"


class CommentRequired(InvalidInput):
    """The registry policy (registry.require_comment) needs a comment on approvals and rejections."""

    code = "comment_required"


class PrincipalRequired(PermissionDenied):
    code = "principal_required"
    hint = "Set who you are: MLOOP_PRINCIPAL=alice (or `principal` in mloop.toml)."


class FourEyesViolation(PermissionDenied):
    """The principal who registered a version may not approve it (four-eyes rule)."""

    code = "four_eyes"
