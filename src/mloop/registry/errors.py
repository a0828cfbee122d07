"""The registry's errors, each with its own code."""

from __future__ import annotations

from mloop.errors import Conflict, InvalidInput, NotFound, PermissionDenied


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
