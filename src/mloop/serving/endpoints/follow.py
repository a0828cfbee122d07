"""Auto-deploy: an endpoint that follows a registered model deploys each newly Approved version.

Servers call `follow_once` from their watcher (about once a second), so an approval made in any
process reaches the endpoint without a restart. A version is deployed once: a version that was
ever part of the endpoint (even if rolled back since) is not deployed again automatically.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mloop import registry
from mloop.errors import NotFound
from mloop.serving.endpoints.changes import apply_change
from mloop.serving.endpoints.records import Endpoint, Variant, history

if TYPE_CHECKING:
    from mloop.store import Workspace

log = logging.getLogger("mloop.serving")


class _FollowChanged(Exception):
    """Following was stopped or changed after the follower read the endpoint (rolls the change back)."""


def follow_once(ws: Workspace, ep: Endpoint) -> Endpoint | None:
    """Deploy the newest Approved version of the followed model if it is new to the endpoint.

    Returns:
        The changed endpoint, or None when there was nothing to do (or another process did it).
    """
    if not ep.follow_model:
        return None
    try:
        mv = registry.latest_approved(ws, ep.follow_model)
    except NotFound:
        return None  # nothing approved yet (an unreachable database propagates)
    seen = {int(v["model_version"]) for row in history(ws, ep.name, limit=1000)
            for v in row["variants"] if v["model_name"] == ep.follow_model}
    if int(mv.version) in seen or (seen and int(mv.version) < max(seen)):
        return None
    canary = ep.follow_canary_weight
    new_name = "canary" if canary and any(v.name == "production" for v in ep.variants) else "production"
    weight = canary if new_name == "canary" else 100

    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict]:
        assert current is not None
        if (current.follow_model, current.follow_canary_weight) != (ep.follow_model, ep.follow_canary_weight):
            # `set_follow` does not bump the generation: a follower that read the endpoint before
            # following was stopped must not deploy after it (the demo's experiments chapter met this)
            raise _FollowChanged
        new = Variant(new_name, mv.name, int(mv.version), mv.model_uri, int(weight or 100))
        shadows = [v for v in current.variants if v.shadow and v.name != new_name]
        if new_name == "production":
            return [new, *shadows], "auto-deploy", {"variant": new_name, "model": mv.name, "version": int(mv.version)}
        prod = next(v for v in current.variants if v.name == "production")
        prod = Variant(prod.name, prod.model_name, prod.model_version, prod.model_uri, 100 - new.weight,
                       prod.deployed_at)
        return [prod, new, *shadows], "auto-deploy", {"variant": new_name, "model": mv.name,
                                            "version": int(mv.version), "weight": new.weight}

    try:
        changed = apply_change(ws, ep.name, change, principal="auto-deploy", expected_generation=ep.generation)
    except _FollowChanged:
        return None
    if changed is not None:
        log.info("endpoint %s: auto-deployed %s v%s as %s", ep.name, mv.name, mv.version, new_name)
    return changed
