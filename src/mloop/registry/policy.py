"""Approval policies: a version whose metrics satisfy its model's `auto_approve` expression is
approved on registration, recorded like a human approval by the principal `policy:<model>`, with
the expression and the values it read. The expression language is `mloop.config.policy_language`
(settings check it when they load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.config.policy_language import evaluate, parse
from mloop.registry.approval import transition

if TYPE_CHECKING:
    from mloop.registry.records import ModelVersion
    from mloop.store import Workspace

__all__ = ["apply_policy", "evaluate", "parse"]


def apply_policy(ws: Workspace, version: ModelVersion) -> ModelVersion:
    """Approve a newly registered version if its model's policy says so; else return it as is.

    Under the four-eyes rule the policy approves only when `distinct_approver` is set.
    """
    policy = ws.settings.registry.policies.get(version.name)
    if policy is None or not policy.auto_approve:
        return version
    ok, read = evaluate(policy.auto_approve, version.metrics)
    if not ok:
        return version
    if ws.settings.registry.require_distinct_approver and not policy.distinct_approver:
        return version
    values = ", ".join(f"{k}={v:.6g}" for k, v in read.items())
    comment = f"auto_approve policy: {policy.auto_approve} ({values})"
    return transition(ws, version.name, version.version, "Approved", f"policy:{version.name}",
                      comment, four_eyes=False)
