"""Canary rollback: a canary whose guardrail window breaks its limits (`guardrails`) is set to
weight 0, the change is recorded in the endpoint's history, and an alert is raised."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mloop.alerts import raise_alert
from mloop.serving.endpoints.deploy import set_weights

if TYPE_CHECKING:
    from mloop.serving.runtime.live import Deployment, LiveVariant
    from mloop.store import Workspace

log = logging.getLogger("mloop.serving")


def judge(ws: Workspace, dep: Deployment) -> str | None:
    """Check every canary of `dep`; roll back the first that breaks its limits.

    Returns:
        The variant rolled back, or None. Another worker may get there first: the change is
        conditional on the generation, so it happens once.
    """
    if dep.limits is None or len(dep.variants) < 2:
        return None
    for variant in dep.variants.values():
        if variant.name == "production" or variant.weight == 0:
            continue
        stats = variant.window.stats(dep.limits.window_s, max_rows=dep.limits.max_rows)
        reason = stats.breach(dep.limits)
        if reason and _roll_back(ws, dep, variant, reason, stats.__dict__):
            return variant.name
    return None


def _roll_back(ws: Workspace, dep: Deployment, canary: LiveVariant, reason: str,
               stats: dict[str, Any]) -> bool:
    receiver = _receiver(dep, canary)
    weights = {canary.name: 0, receiver.name: receiver.weight + canary.weight}
    detail = {"variant": canary.name, "model": canary.model.name, "version": canary.model.version,
              "reason": reason, "stats": stats}
    changed = set_weights(ws, dep.endpoint.name if dep.endpoint else "", weights, principal="guardrail",
                          action="guardrail", detail=detail, expected_generation=dep.generation)
    if changed is None:
        return False
    log.warning("endpoint %s: canary %s rolled back: %s", changed.name, canary.name, reason)
    _alert(ws, changed.name, canary, reason, detail)
    return True


def _receiver(dep: Deployment, canary: LiveVariant) -> LiveVariant:
    if "production" in dep.variants:
        return dep.variants["production"]
    others = [v for v in dep.variants.values() if v.name != canary.name]
    return max(others, key=lambda v: v.weight)


def _alert(ws: Workspace, endpoint: str, canary: LiveVariant, reason: str, detail: dict[str, Any]) -> None:
    try:
        raise_alert(ws, source="serving", severity="critical",
                    title=f"endpoint {endpoint}: canary '{canary.name}' "
                          f"({canary.model.name} v{canary.model.version}) rolled back to weight 0",
                    detail={"endpoint": endpoint, **detail})
    except Exception as exc:  # noqa: BLE001 — the rollback already happened and is in the history
        log.error("endpoint %s: could not raise the guardrail alert: %s", endpoint, exc)
