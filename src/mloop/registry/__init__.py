"""The model registry: versions on MLflow's registry with a manual-approval workflow.

Every version starts `PendingManualApproval`; `approve` / `reject` record who, when and why in
an audit trail; `latest_approved` is the only resolver of "the latest model" for deployment.
"""

from mloop.registry.adopt import sync
from mloop.registry.approval import approve, reject
from mloop.registry.errors import (
    ApprovalConflict,
    CommentRequired,
    FourEyesViolation,
    ModelNotFound,
    ModelVersionNotFound,
    NoApprovedVersion,
    PrincipalRequired,
)
from mloop.registry.events import StatusChange, subscribe
from mloop.registry.lifecycle import delete_versions
from mloop.registry.lookup import get_version, history, latest_approved, list_models, versions
from mloop.registry.records import (
    APPROVED,
    PENDING,
    REJECTED,
    STATUS_TAG,
    STATUSES,
    ModelVersion,
    RegisteredModel,
    Transition,
)
from mloop.registry.registration import register

__all__ = [
    "APPROVED", "PENDING", "REJECTED", "STATUSES", "STATUS_TAG",
    "ApprovalConflict", "CommentRequired", "FourEyesViolation", "ModelNotFound", "ModelVersion",
    "ModelVersionNotFound", "NoApprovedVersion", "PrincipalRequired", "RegisteredModel",
    "StatusChange", "Transition",
    "approve", "delete_versions", "get_version", "history", "latest_approved", "list_models", "register", "reject",
    "subscribe", "sync", "versions",
]
