"""The one write path of endpoint configurations.

Every change (deploy, set-weights, promote, rollback, a guardrail firing, an auto-deploy) happens
in one transaction that rewrites the variants, bumps `generation` and appends the resulting
configuration to the history; rollback restores an earlier configuration from that history.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.serving.endpoints.records import Endpoint, Variant, not_found, read_endpoint
from mloop.serving.errors import InvalidWeights

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace

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
    from sqlalchemy import delete, insert, select, update  # where a query runs (see `records`)

    from mloop.serving.tables import endpoint_history, endpoint_variants, endpoints

    now = datetime.now(UTC)
    with nullcontext(conn) if conn is not None else ws.db.begin() as conn:  # type: ignore[attr-defined]
        current = read_endpoint(conn, name, lock=True)
        if current is None and not create:
            # Names from this connection: a second transaction would wait on our own SQLite write lock.
            raise not_found(name, [r.name for r in conn.execute(select(endpoints.c.name).order_by(endpoints.c.name))])
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
        return read_endpoint(conn, name)


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


