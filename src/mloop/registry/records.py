"""The registry's records: statuses, `ModelVersion`, audit entries, model summaries, valid names."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mloop.errors import InvalidInput

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
STATUS_TAG = "mloop.approval_status"
DIGEST_KEY = "files_digest"  # metadata key of `tracking.model_digest` (registration writes it)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


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


def check_name(name: str) -> None:
    """Raise InvalidInput unless `name` is a valid model name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}",
            hint="Use letters, digits, '.', '_' and '-' (start with a letter or digit), e.g. ad-click-ctr.",
        )


def check_version(version: Any) -> int:
    """`version` as a positive int; InvalidInput otherwise."""
    text = str(version).strip()
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"invalid model version {version!r}", hint="Versions are positive integers: 1, 2, 3...")
    return int(text)
