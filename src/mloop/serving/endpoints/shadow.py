"""Shadow variants: a new model version sees live requests and answers none of them.

A shadow is a variant with weight 0 and the `shadow` flag: the router never picks it (not even
when a caller names it), and each server hands it a copy of a `sample` share of the requests
after the caller's answer was sent (`runtime.shadow_tap`). Its predictions land in the prediction log
beside the live answer to the same request, which is what `mloop endpoints compare` reads;
`promote(..., weight=W)` turns it into a canary that takes W% of the traffic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal
from mloop.errors import InvalidInput
from mloop.serving.endpoints.changes import apply_change
from mloop.serving.endpoints.deploy import resolve_version
from mloop.serving.endpoints.records import Endpoint, Variant, check_endpoint_name, get_endpoint

if TYPE_CHECKING:
    from mloop.store import Workspace


def deploy_shadow(
    ws: Workspace, endpoint: str, model: str, *, variant: str, version: int | None = None,
    latest_approved: bool = False, sample: float = 1.0, principal: str | None = None,
) -> Endpoint:
    """Deploy an Approved model version as shadow `variant` of an existing endpoint.

    Args:
        endpoint: an endpoint that already serves traffic (a shadow needs a live answer to shadow).
        variant: the shadow's name (not production; not a variant taking traffic now).
        sample: the share of requests (0 < sample <= 1) copied to the shadow.

    Raises:
        EndpointNotFound: no such endpoint. NotApproved: the version is not Approved.
        InvalidInput: a bad sample, or a variant name that takes traffic.
    """
    check_endpoint_name(endpoint)
    check_endpoint_name(variant)
    if not 0 < sample <= 1:
        raise InvalidInput(f"--sample is the share of requests copied to the shadow (0-1], got {sample}",
                           hint="e.g. --sample 0.1 copies one request in ten.")
    if variant == "production":
        raise InvalidInput("the production variant cannot be a shadow",
                           hint="Name the shadow, e.g. `--variant shadow`.")
    get_endpoint(ws, endpoint)  # an unknown endpoint is named before the version is looked at
    mv = resolve_version(ws, model, version, latest_approved)
    new = Variant(variant, mv.name, int(mv.version), mv.model_uri, 0, shadow=True, sample=float(sample))

    def change(current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        assert current is not None
        replaced = next((v for v in current.variants if v.name == variant), None)
        if replaced is not None and not replaced.shadow and replaced.weight > 0:
            raise InvalidInput(
                f"variant '{variant}' of '{endpoint}' takes {replaced.weight}% of the traffic; a shadow takes none",
                hint=f"Pick another name, or move its traffic first: `mloop endpoints set-weights {endpoint} "
                     f"{variant}=0 production=...`.")
        others = [v for v in current.variants if v.name != variant]
        return [*others, new], "deploy-shadow", {"variant": variant, "model": mv.name,
                                                  "version": int(mv.version), "sample": float(sample)}

    return apply_change(ws, endpoint, change, principal=principal or acting_principal(ws))  # type: ignore[return-value]
