"""Deploying to endpoints and changing their traffic: deploy, set-weights, promote, rollback, follow.

Only Approved model versions deploy. Each operation is one `apply_change` (one transaction, one
new generation, one history row).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop import registry
from mloop.auth import acting_principal
from mloop.errors import InvalidInput
from mloop.serving.endpoints.changes import apply_change
from mloop.serving.endpoints.records import Endpoint, Variant, check_name, get_endpoint, history
from mloop.serving.errors import InvalidWeights, NotApproved, NothingToRollBack

if TYPE_CHECKING:
    from mloop.store import Workspace


def resolve_version(ws: Workspace, model: str, version: int | None, latest_approved: bool) -> Any:
    """The registered version to deploy; refuses anything that is not Approved.

    Raises:
        InvalidInput: neither or both of `version` and `latest_approved`.
        NotApproved: the version's status is not Approved.
    """
    if (version is None) == (not latest_approved):
        raise InvalidInput("give exactly one of --version N or --latest-approved")
    if latest_approved:
        mv = registry.latest_approved(ws, model)
    else:
        assert version is not None
        mv = registry.get_version(ws, model, version)
    if mv.status != "Approved":
        raise NotApproved(
            f"model '{model}' version {mv.version} is {mv.status}; only Approved versions deploy",
            hint=f"Approve it first: `mloop models approve {model} {mv.version} --comment \"...\"`.",
        )
    return mv


def deploy(
    ws: Workspace, endpoint: str, model: str, *, version: int | None = None,
    latest_approved: bool = False, variant: str = "production", weight: int = 100,
    principal: str | None = None, follow_approved: bool = False, canary_weight: int | None = None,
    guardrails: dict[str, Any] | None = None,
) -> Endpoint:
    """Deploy an Approved model version to `variant` of `endpoint` (created if new).

    With weight 100 the variant becomes the endpoint's only one; otherwise it takes `weight` and
    the other variants share the rest in proportion to their weights. `follow_approved` makes the
    endpoint's servers deploy every newer Approved version of `model` (as a canary of
    `canary_weight` when given).

    Raises:
        NotApproved, InvalidWeights, InvalidInput, registry NotFound errors.
    """
    check_name(endpoint, "endpoint")
    check_name(variant, "variant")
    if follow_approved and version is None:
        latest_approved = True
    mv = resolve_version(ws, model, version, latest_approved)
    new = Variant(variant, mv.name, int(mv.version), mv.model_uri, weight)

    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        others = [v for v in (current.variants if current else []) if v.name != variant]
        if not any(not v.shadow for v in others) and weight != 100:
            raise InvalidWeights(
                f"the first variant of '{endpoint}' must take all the traffic (weight 100), got {weight}"
            )
        return _place(new, others), "deploy", {"variant": variant, "model": mv.name,
                                               "version": int(mv.version), "weight": weight}

    follow = (model, canary_weight) if follow_approved else None
    return apply_change(ws, endpoint, change, principal=principal or acting_principal(ws),
                        follow=follow, guardrails=guardrails, create=True)  # type: ignore[return-value]


def _place(new: Variant, current: list[Variant]) -> list[Variant]:
    """`new` with its weight; the live `current` variants share the rest; shadows stay as they are."""
    shadows = [v for v in current if v.shadow]
    others = [v for v in current if not v.shadow]
    if new.weight == 100 or not others:
        return [new, *shadows]
    rest = 100 - new.weight
    total = sum(v.weight for v in others)
    shares = [rest * v.weight // total if total else rest // len(others) for v in others]
    shares[0] += rest - sum(shares)  # rounding remainder to the first (production) variant
    return [new, *(_with_weight(v, s) for v, s in zip(others, shares, strict=True)), *shadows]


def _with_weight(v: Variant, weight: int) -> Variant:
    return Variant(v.name, v.model_name, v.model_version, v.model_uri, weight, v.deployed_at, v.shadow, v.sample)


def set_weights(
    ws: Workspace, endpoint: str, weights: dict[str, int], *, principal: str | None = None,
    action: str = "set-weights", detail: dict[str, Any] | None = None,
    expected_generation: int | None = None,
) -> Endpoint | None:
    """Set variant weights (unnamed variants keep theirs; the total must be 100).

    Raises:
        InvalidInput: an unknown variant name. InvalidWeights: the total is not 100.
    """
    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        assert current is not None
        for name in weights:
            if current.variant(name).shadow and weights[name] != 0:  # raises on unknown names
                raise InvalidWeights(f"'{name}' is a shadow variant: it takes no traffic",
                                     hint=f"Promote it to a canary: `mloop endpoints promote {endpoint} {name} "
                                          "--weight W`.")
        out = [_with_weight(v, int(weights.get(v.name, v.weight))) for v in current.variants]
        return out, action, {"weights": {v.name: v.weight for v in out}, **(detail or {})}

    return apply_change(ws, endpoint, change, principal=principal or acting_principal(ws),
                        expected_generation=expected_generation)


def promote(ws: Workspace, endpoint: str, variant: str = "canary", *, weight: int | None = None,
            principal: str | None = None, action: str = "promote",
            evidence: dict[str, Any] | None = None) -> Endpoint:
    """Make `variant`'s model the production variant with all the traffic, or, with a `weight`
    below 100, a canary with that share (how a shadow starts taking traffic).

    `action` and `evidence` say in the history who decided it and on what grounds (an experiment).

    Raises:
        InvalidInput: an unknown variant, promoting production, a shadow without a weight.
        InvalidWeights: a weight outside 1-100.
    """
    if weight is not None and not 1 <= weight <= 100:
        raise InvalidWeights(f"--weight must be 1-100, got {weight}")

    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        assert current is not None
        v = current.variant(variant)
        if v.name == "production":
            raise InvalidInput(f"'{variant}' is already the production variant", hint="Promote a canary.")
        detail = {"variant": variant, "model": v.model_name, "version": v.model_version}
        if v.shadow:
            detail["from"] = "shadow"
            if weight is None:
                raise InvalidInput(f"'{variant}' is a shadow: promoting it gives it a share of the traffic",
                                   hint=f"Say how much: `mloop endpoints promote {endpoint} {variant} --weight 10`.")
        shadows = [s for s in current.variants if s.shadow and s.name != variant]
        if weight is not None and weight < 100:
            live = Variant(v.name, v.model_name, v.model_version, v.model_uri, weight)
            others = [o for o in current.variants if o.name != variant]
            return _place(live, others), action, {**detail, "weight": weight, **(evidence or {})}
        prod = Variant("production", v.model_name, v.model_version, v.model_uri, 100)
        return [prod, *shadows], action, {**detail, **(evidence or {})}

    return apply_change(ws, endpoint, change, principal=principal or acting_principal(ws))  # type: ignore[return-value]


def rollback(ws: Workspace, endpoint: str, *, principal: str | None = None) -> Endpoint:
    """Restore the configuration before the current one (repeatable: walks back the history).

    Raises:
        NothingToRollBack: the current configuration is the endpoint's first.
    """
    rows = {r["generation"]: r for r in history(ws, endpoint, limit=10_000)}

    def canonical(gen: int) -> int:
        row = rows[gen]
        return int(row["detail"].get("restored_generation", gen)) if row["action"] == "rollback" else gen

    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        assert current is not None
        target = canonical(current.generation) - 1
        if target < 1 or target not in rows:
            raise NothingToRollBack(f"endpoint '{endpoint}' has no earlier configuration")
        restored = [Variant(**v) for v in rows[target]["variants"]]
        return restored, "rollback", {"restored_generation": canonical(target),
                                      "from_generation": current.generation}

    return apply_change(ws, endpoint, change, principal=principal or acting_principal(ws))  # type: ignore[return-value]


def set_follow(ws: Workspace, endpoint: str, model: str | None, canary_weight: int | None) -> None:
    """Make the endpoint follow (or stop following) newly Approved versions of `model`."""
    from sqlalchemy import update  # where a query runs (see `records`)

    from mloop.serving.tables import endpoints

    get_endpoint(ws, endpoint)
    with ws.db.begin() as conn:
        conn.execute(update(endpoints).where(endpoints.c.name == endpoint).values(
            follow_model=model, follow_canary_weight=canary_weight))


def parse_weights(pairs: list[str]) -> dict[str, int]:
    """`["production=90", "canary=10"]` -> dict; a clear error for anything else."""
    out: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise InvalidWeights(f"'{pair}' is not VARIANT=WEIGHT", hint="e.g. production=90 canary=10")
        out[name.strip()] = int(value)
    return out
