"""Taking versions and endpoints out of service: reject what is served, delete, undeploy.

The registry decides a version's status; only this package knows which endpoints serve it. So a
reject of a served version is refused here, naming the endpoints, unless the caller asks to
undeploy: then every such endpoint is rolled back to its newest earlier configuration (from its
history) that does not serve the version, and the version is rejected, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mloop import registry
from mloop.errors import Conflict
from mloop.registry.approval import transition_in
from mloop.registry.events import publish
from mloop.serving.endpoints.changes import apply_change
from mloop.serving.endpoints.records import Endpoint, Variant, get_endpoint
from mloop.serving.errors import NothingToRollBack

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.registry import ModelVersion
    from mloop.store import Workspace


class VersionServed(Conflict):
    """The version (or model) is deployed on an endpoint."""

    code = "version_served"


@dataclass(frozen=True)
class Rejected:
    """A rejected version and the endpoints rolled back to stop serving it."""

    version: ModelVersion
    rolled_back: list[Endpoint]

    def to_dict(self) -> dict[str, Any]:
        return {**self.version.to_dict(), "rolled_back": [e.to_dict() for e in self.rolled_back]}


def serving_endpoints(conn: Connection, model: str, version: int | None = None) -> dict[str, list[str]]:
    """Endpoint -> variant names that serve `model` (one `version`, or any)."""
    from sqlalchemy import select  # where a query runs (see `records`)

    from mloop.serving.tables import endpoint_variants as ev

    query = select(ev.c.endpoint, ev.c.variant).where(ev.c.model_name == model)
    if version is not None:
        query = query.where(ev.c.model_version == version)
    found: dict[str, list[str]] = {}
    for endpoint, variant in conn.execute(query.order_by(ev.c.endpoint, ev.c.variant)):
        found.setdefault(endpoint, []).append(variant)
    return found


def _listing(served: dict[str, list[str]]) -> str:
    return ", ".join(f"{e} ({', '.join(vs)})" for e, vs in served.items())


def reject_version(
    ws: Workspace, name: str, version: int, *, undeploy: bool = False, principal: str | None = None,
    comment: str | None = None,
) -> Rejected:
    """Reject a version; refused while an endpoint serves it unless `undeploy`.

    Raises:
        VersionServed: endpoints serve it and `undeploy` is False (they are named).
        NothingToRollBack: with `undeploy`, an endpoint has no earlier configuration without it.
        The registry's errors (unknown version, policy, already Rejected).
    """
    registry.get_version(ws, name, version)  # adopts a version only MLflow knew
    principal = principal or ws.settings.principal
    with ws.db.begin() as conn:
        served = serving_endpoints(conn, name, version)
        if served and not undeploy:
            raise VersionServed(
                f"{name} version {version} is served by {_listing(served)}; rejecting it would leave it serving",
                hint=f"Roll those endpoints back in the same step: `mloop models reject {name} {version} --undeploy`.")
        rolled = [_roll_back_from(ws, conn, endpoint, name, version, principal) for endpoint in served]
        updated, event = transition_in(conn, ws, name, version, registry.REJECTED, principal, comment)
    publish(ws, event)
    return Rejected(updated, rolled)


def _roll_back_from(ws: Workspace, conn: Connection, endpoint: str, name: str, version: int,
                    principal: str | None) -> Endpoint:
    """Restore the newest earlier configuration of `endpoint` that does not serve name/version."""
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_history as h

    rows = conn.execute(select(h.c.generation, h.c.variants).where(h.c.endpoint == endpoint)
                        .order_by(h.c.generation.desc())).all()
    current = rows[0].generation if rows else 0
    target = next((r for r in rows[1:] if not any(
        v["model_name"] == name and int(v["model_version"]) == version for v in r.variants)), None)
    if target is None:
        raise NothingToRollBack(
            f"endpoint '{endpoint}' has no earlier configuration without {name} version {version}",
            hint=f"Deploy another Approved version to it first, or delete it: `mloop endpoints delete {endpoint}`.")

    def change(_current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        restored = [Variant(**v) for v in target.variants]
        return restored, "rollback", {"restored_generation": target.generation, "from_generation": current,
                                      "reason": f"{name} version {version} rejected"}

    return apply_change(ws, endpoint, change, principal=principal, conn=conn)  # type: ignore[return-value]


def delete_model(ws: Workspace, name: str, version: int | None = None) -> list[int]:
    """Delete a model version (or every version of the model); refused while an endpoint serves it.

    Raises:
        VersionServed: naming the endpoints. ModelNotFound / ModelVersionNotFound.
    """
    with ws.db.begin() as conn:
        served = serving_endpoints(conn, name, version)
    if served:
        what = f"{name} version {version}" if version is not None else f"model {name}"
        first = next(iter(served))
        raise VersionServed(f"{what} is served by {_listing(served)}",
                            hint=f"Deploy another model there, or delete it: `mloop endpoints delete {first}`.")
    return registry.delete_versions(ws, name, version)


def delete_endpoint(ws: Workspace, name: str) -> Endpoint:
    """Delete an endpoint with its variants, history and prediction log; its servers answer 503
    from then on.

    Raises:
        EndpointNotFound: no such endpoint.
    """
    from sqlalchemy import delete

    from mloop.serving.tables import endpoint_history, endpoint_variants, endpoints, prediction_log, shadow_drops

    found = get_endpoint(ws, name)
    with ws.db.begin() as conn:
        conn.execute(delete(prediction_log).where(prediction_log.c.endpoint == name))
        conn.execute(delete(shadow_drops).where(shadow_drops.c.endpoint == name))
        conn.execute(delete(endpoint_variants).where(endpoint_variants.c.endpoint == name))
        conn.execute(delete(endpoint_history).where(endpoint_history.c.endpoint == name))
        conn.execute(delete(endpoints).where(endpoints.c.name == name))
    return found
