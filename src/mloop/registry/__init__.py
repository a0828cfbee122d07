"""The model registry: versions on MLflow's registry with a manual-approval workflow.

Every version starts `PendingManualApproval`; `approve` / `reject` record who, when and why in
an audit trail; `latest_approved` is the only resolver of "the latest model" for deployment.
"""

from mloop.registry.adopt import sync
from mloop.registry.core import (
    approve,
    get_version,
    history,
    latest_approved,
    list_models,
    register,
    reject,
    versions,
)
from mloop.registry.events import StatusChange, subscribe
from mloop.registry.lifecycle import delete_versions
from mloop.registry.model import (
    APPROVED,
    PENDING,
    REJECTED,
    STATUS_TAG,
    STATUSES,
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

__all__ = [
    "APPROVED", "PENDING", "REJECTED", "STATUSES", "STATUS_TAG",
    "ApprovalConflict", "CommentRequired", "FourEyesViolation", "ModelNotFound", "ModelVersion",
    "ModelVersionNotFound", "NoApprovedVersion", "PrincipalRequired", "RegisteredModel",
    "StatusChange", "Transition",
    "approve", "delete_versions", "get_version", "history", "latest_approved", "list_models", "register", "reject",
    "subscribe", "sync", "versions",
]
