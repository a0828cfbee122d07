"""Endpoints and variants: the deployer, the configuration records and their history.

An endpoint is a named set of variants, each a model version with an integer traffic weight;
the weights of an endpoint sum to 100. Every change (deploy, set-weights, promote, rollback, a
guardrail firing, an auto-deploy) happens in one transaction that rewrites the variants, bumps
`generation` and appends the resulting configuration to the history. Servers follow the
generation; rollback restores an earlier configuration from the history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal
from mloop.errors import InvalidInput, did_you_mean
from mloop.serving.errors import EndpointNotFound, InvalidWeights, NotApproved, NothingToRollBack

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Variant:
    """One model version behind an endpoint, with its share of the traffic (0-100).

    A `shadow` variant takes no traffic (weight 0): it predicts on copies of a `sample` share of
    the requests after they were answered, and only the prediction log sees its answers.
    """

    name: str
    model_name: str
    model_version: int
    model_uri: str
    weight: int
    deployed_at: str = ""
    shadow: bool = False
    sample: float = 1.0


@dataclass
class Endpoint:
    """The current configuration of an endpoint."""

    name: str
    generation: int
    variants: list[Variant]
    follow_model: str | None = None
    follow_canary_weight: int | None = None
    guardrails: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise InvalidInput(
            f"endpoint '{self.name}' has no variant '{name}'",
            hint=did_you_mean(name, [v.name for v in self.variants]),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "updated_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


# --- reads -------------------------------------------------------------------------------------


def list_endpoints(ws: Workspace) -> list[Endpoint]:
    """Every endpoint with its variants, by name."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoints

    with ws.db.begin() as conn:
        names = [r.name for r in conn.execute(select(endpoints.c.name).order_by(endpoints.c.name))]
        return [_read(conn, n) for n in names]  # type: ignore[misc]


def get_endpoint(ws: Workspace, name: str) -> Endpoint:
    """The endpoint `name`.

    Raises:
        EndpointNotFound: no such endpoint (the hint names the known ones).
    """
    with ws.db.begin() as conn:
        found = _read(conn, name)
    if found is None:
        raise _not_found(name, [e.name for e in list_endpoints(ws)])
    return found


def _not_found(name: str, known: list[str]) -> EndpointNotFound:
    return EndpointNotFound(
        f"endpoint '{name}' not found",
        hint=did_you_mean(name, known) + ". Create it with `mloop deploy ENDPOINT --model NAME --latest-approved`.",
    )


def find_endpoint(ws: Workspace, name: str) -> Endpoint | None:
    """The endpoint `name`, or None (servers wait for a first deploy)."""
    with ws.db.begin() as conn:
        return _read(conn, name)


def generation(ws: Workspace, name: str) -> int:
    """The endpoint's configuration generation (0 when it does not exist): a cheap poll."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoints

    with ws.db.engine.connect() as conn:
        value = conn.execute(select(endpoints.c.generation).where(endpoints.c.name == name)).scalar()
        conn.rollback()
    return int(value or 0)


def history(ws: Workspace, name: str, limit: int = 100) -> list[dict[str, Any]]:
    """The endpoint's configuration changes, newest first (each with the variants after it)."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_history as h

    get_endpoint(ws, name)
    query = select(h).where(h.c.endpoint == name).order_by(h.c.generation.desc()).limit(limit)
    with ws.db.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _read(conn: Connection, name: str, lock: bool = False) -> Endpoint | None:
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_variants as ev
    from mloop.serving.tables import endpoints

    query = select(endpoints).where(endpoints.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    rows = conn.execute(select(ev).where(ev.c.endpoint == name).order_by(ev.c.variant)).all()
    variants = [
        Variant(r.variant, r.model_name, r.model_version, r.model_uri, r.weight, _iso(r.deployed_at),
                bool(r.shadow), float(r.sample))
        for r in rows
    ]
    variants.sort(key=lambda v: (v.name != "production", v.name))
    return Endpoint(
        name=row.name, generation=row.generation, variants=variants,
        follow_model=row.follow_model, follow_canary_weight=row.follow_canary_weight,
        guardrails=dict(row.guardrails or {}), created_at=row.created_at, updated_at=row.updated_at,
    )


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


# --- the one write path ------------------------------------------------------------------------

Change = Callable[[Endpoint | None], tuple[list[Variant], str, dict[str, Any]]]


def apply_change(
    ws: Workspace, name: str, change: Change, *, principal: str | None = None,
    expected_generation: int | None = None, follow: tuple[str | None, int | None] | None = None,
    guardrails: dict[str, Any] | None = None, create: bool = False, conn: Connection | None = None,
) -> Endpoint | None:
    """Apply `change` to the endpoint in one transaction; returns the new configuration.

    `change(current)` returns (variants, action, detail). With `expected_generation`, the change
    applies only if nobody changed the endpoint meanwhile (None is returned otherwise): servers
    use it so that two workers reacting to the same event change the endpoint once. With `conn`,
    the change joins the caller's transaction (a reject that rolls endpoints back is one operation).
    """
    from contextlib import nullcontext

    from sqlalchemy import delete, insert, select, update

    from mloop.serving.tables import endpoint_history, endpoint_variants, endpoints

    now = datetime.now(UTC)
    with nullcontext(conn) if conn is not None else ws.db.begin() as conn:  # type: ignore[attr-defined]
        current = _read(conn, name, lock=True)
        if current is None and not create:
            # Names from this connection: a second transaction would wait on our own SQLite write lock.
            raise _not_found(name, [r.name for r in conn.execute(select(endpoints.c.name).order_by(endpoints.c.name))])
        if expected_generation is not None and (current.generation if current else 0) != expected_generation:
            return None
        variants, action, detail = change(current)
        _check_weights(variants)
        gen = (current.generation if current else 0) + 1
        values: dict[str, Any] = {"generation": gen, "updated_at": now}
        if follow is not None:
            values["follow_model"], values["follow_canary_weight"] = follow
        if guardrails is not None:  # merged: a deploy that sets one limit keeps the others (and the input policy)
            values["guardrails"] = {**(current.guardrails if current else {}), **guardrails}
        if current is None:
            values.setdefault("guardrails", {})
            conn.execute(insert(endpoints).values(name=name, created_at=now, **values))
        else:
            conn.execute(update(endpoints).where(endpoints.c.name == name).values(**values))
        conn.execute(delete(endpoint_variants).where(endpoint_variants.c.endpoint == name))
        for v in variants:
            deployed = datetime.fromisoformat(v.deployed_at) if v.deployed_at else now
            conn.execute(insert(endpoint_variants).values(
                endpoint=name, variant=v.name, model_name=v.model_name, model_version=v.model_version,
                model_uri=v.model_uri, weight=v.weight, deployed_at=deployed, shadow=v.shadow, sample=v.sample,
            ))
        snapshot = [asdict(v) | {"deployed_at": v.deployed_at or now.isoformat()} for v in variants]
        conn.execute(insert(endpoint_history).values(
            endpoint=name, generation=gen, at=now, action=action, principal=principal,
            variants=snapshot, detail=detail,
        ))
        return _read(conn, name)


def _check_weights(variants: list[Variant]) -> None:
    if not any(not v.shadow for v in variants):
        raise InvalidWeights("an endpoint needs at least one variant that takes traffic")
    for v in variants:
        if not 0 <= v.weight <= 100:
            raise InvalidWeights(f"weight of variant '{v.name}' is {v.weight}; weights are 0-100")
    total = sum(v.weight for v in variants)
    if total != 100:
        listing = " ".join(f"{v.name}={v.weight}" for v in variants)
        raise InvalidWeights(
            f"weights must sum to 100, got {total} ({listing})",
            hint="e.g. `mloop endpoints set-weights ENDPOINT production=90 canary=10`",
        )


# --- user operations ---------------------------------------------------------------------------


def resolve_version(ws: Workspace, model: str, version: int | None, latest_approved: bool) -> Any:
    """The registered version to deploy; refuses anything that is not Approved.

    Raises:
        InvalidInput: neither or both of `version` and `latest_approved`.
        NotApproved: the version's status is not Approved.
    """
    from mloop import registry

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
    _check_name(endpoint, "endpoint")
    _check_name(variant, "variant")
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
    from sqlalchemy import update

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


def check_endpoint_name(name: str) -> None:
    """Refuse a name that could not be an endpoint (it also names files: no paths, no dots first).

    Raises:
        InvalidInput: the name is not letters, digits, '-', '_' or '.' starting with a letter or digit.
    """
    _check_name(name, "endpoint")


def _check_name(value: str, what: str) -> None:
    if not _NAME.match(value):
        raise InvalidInput(
            f"invalid {what} name '{value}'",
            hint="Use letters, digits, '-', '_' or '.', starting with a letter or digit (max 100).",
        )
