"""Acting on a winner: the winning canary becomes production with all the traffic, or the losing
canary goes to weight 0 (its traffic back to production). The change goes through the
endpoint's one write path, so it is in the endpoint history with the experiment id and its
evidence, like a guardrail rollback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop import serving

if TYPE_CHECKING:
    from mloop.experiments.records import Experiment
    from mloop.store import Workspace

PRINCIPAL = "experiment"


def promote_winner(ws: Workspace, exp: Experiment, winner: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """Promote `winner` of `exp` on its endpoint, unless the endpoint changed since the start.

    Returns:
        `{"promoted": bool, "summary" | "reason": str, "generation": int}`.
    """
    endpoint = serving.get_endpoint(ws, exp.endpoint)
    served = {v.name: v for v in endpoint.variants}
    for arm in exp.variants:
        now = served.get(arm["name"])
        if now is None or now.model_version != arm["model_version"] or now.model_name != arm["model_name"]:
            return {"promoted": False,
                    "reason": f"variant '{arm['name']}' no longer serves {arm['model_name']} "
                              f"v{arm['model_version']}; the endpoint changed during the experiment"}
    loser = next(a["name"] for a in exp.variants if a["name"] != winner)
    detail = {"experiment": exp.id, "winner": winner, "decision": evidence["decision"],
              "reason": evidence["reason"], "p_value": evidence["p_value"], "effect": evidence["effect"],
              "interval": evidence["interval"],
              "variants": {v["name"]: {"samples": v["samples"], "outcomes": v["outcomes"]}
                           for v in evidence["variants"]}}
    changed: serving.Endpoint | None
    if winner != "production":
        changed = serving.promote(ws, exp.endpoint, winner, principal=PRINCIPAL, action="experiment",
                                  evidence=detail)
        summary = f"promoted '{winner}' ({served[winner].model_name} v{served[winner].model_version}) to production"
    else:
        moved = served[loser].weight
        changed = serving.set_weights(ws, exp.endpoint, {loser: 0, winner: served[winner].weight + moved},
                                      principal=PRINCIPAL, action="experiment", detail=detail)
        summary = f"set the losing '{loser}' to weight 0 (production keeps all the traffic)"
    return {"promoted": True, "summary": summary, "generation": changed.generation if changed else None}
