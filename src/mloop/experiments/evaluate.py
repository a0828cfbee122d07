"""Evaluating an experiment: count outcomes, run the always-valid test, decide, act.

Every evaluation is a *look*: `mloop experiments show`, the dashboard's endpoint page, the
inference app's periodic check and `mloop experiments watch` all call `evaluate`. Looking more
often is safe (the test is valid under continuous monitoring); a look whose counts did not change
since the last one is not stored again. The first look that reaches a decision ends the
experiment, in a conditional update, so two processes looking at once decide (and promote) once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from mloop.alerts import raise_alert
from mloop.experiments import stats
from mloop.experiments.outcomes import RULE, Counts, variant_counts
from mloop.experiments.promote import promote_winner
from mloop.experiments.records import get_experiment, list_experiments
from mloop.experiments.tables import experiment_looks as looks_t
from mloop.experiments.tables import experiments as t

if TYPE_CHECKING:
    from mloop.experiments.records import Experiment
    from mloop.store import Workspace

log = logging.getLogger("mloop.experiments")
_WORDS = {stats.EQUIVALENT: "the confidence sequence lies inside ±{margin_pt:g} pt (practical equivalence)",
          stats.EXHAUSTED: "each variant reached {max_samples} samples without a significant difference"}


def evaluate(ws: Workspace, experiment_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Look at the experiment now: its report, after deciding and promoting if the data says so.

    Returns:
        The report: the experiment's fields, per variant `name`, `samples`, `outcomes`, `rate`,
        `pending`, and `effect`, `interval`, `p_value`, `decision`, `reason`, `rule`, `looks`.

    Raises:
        ExperimentNotFound: no such experiment.
    """
    exp = get_experiment(ws, experiment_id)
    if exp.status != "running":
        return _report(ws, exp, exp.evidence)
    counts = variant_counts(ws, exp, now)
    evidence = _evidence(exp, counts)
    _record_look(ws, exp, evidence)
    if evidence["decision"] != "running" and _claim(ws, exp, evidence):
        evidence["action"] = _act(ws, exp, evidence)
        _store_evidence(ws, exp.id, evidence)
    return _report(ws, get_experiment(ws, experiment_id), evidence)


def evaluate_running(ws: Workspace, endpoint: str | None = None) -> list[dict[str, Any]]:
    """Look at every running experiment (of `endpoint`); one failing never stops the others."""
    reports = []
    for exp in list_experiments(ws, endpoint=endpoint, status="running"):
        try:
            reports.append(evaluate(ws, exp.id))
        except Exception as exc:  # noqa: BLE001 — a look is retried at the next tick; the caller keeps serving
            log.error("experiment %d: evaluation failed: %s", exp.id, exc)
    return reports


def _evidence(exp: Experiment, counts: dict[str, Counts]) -> dict[str, Any]:
    import numpy as np

    s = exp.settings
    a, b = (counts[v["name"]] for v in exp.variants)
    ev = stats.msprt(a.outcomes, a.samples, b.outcomes, b.samples, tau=s["tau"], alpha=s["alpha"])
    n_min = min(a.samples, b.samples)
    p_now = float(ev.p_value) if n_min >= s["min_samples"] else 1.0
    p = min(exp.p_value, p_now)
    code = int(stats.decide(ev, np.float64(p), np.float64(n_min), alpha=s["alpha"], margin=s["margin"],
                            min_samples=s["min_samples"], max_samples=s["max_samples"]))
    names = [v["name"] for v in exp.variants]
    decision, reason = "running", f"waiting for {s['min_samples']} samples per variant" \
        if n_min < s["min_samples"] else "the confidence sequence still contains 0 and values beyond the margin"
    if code in (stats.WINNER_A, stats.WINNER_B):
        winner = names[0] if code == stats.WINNER_A else names[1]
        decision, reason = f"winner:{winner}", f"always-valid p-value {p:.4g} <= alpha {s['alpha']}"
    elif code in _WORDS:
        decision, reason = "no_difference", _WORDS[code].format(margin_pt=s["margin"] * 100, **s)
    return {
        "at": datetime.now(UTC).isoformat(),
        "variants": [{"name": v["name"], "model_name": v["model_name"], "model_version": v["model_version"],
                      "samples": c.samples, "outcomes": c.outcomes, "pending": c.pending,
                      "rate": c.outcomes / c.samples if c.samples else None}
                     for v, c in zip(exp.variants, (a, b), strict=True)],
        "effect": float(ev.effect), "interval": [float(ev.lower), float(ev.upper)],
        "p_value": p, "decision": decision, "reason": reason,
    }


def _record_look(ws: Workspace, exp: Experiment, evidence: dict[str, Any]) -> None:
    counts = {v["name"]: [v["samples"], v["outcomes"]] for v in evidence["variants"]}
    with ws.db.begin() as conn:
        last = conn.execute(select(looks_t.c.counts).where(looks_t.c.experiment_id == exp.id)
                            .order_by(looks_t.c.id.desc()).limit(1)).scalar()
        if last != counts:
            lower, upper = evidence["interval"]
            conn.execute(looks_t.insert().values(
                experiment_id=exp.id, at=datetime.now(UTC), counts=counts, effect=evidence["effect"],
                lower=lower, upper=upper, p_value=evidence["p_value"]))
        conn.execute(update(t).where(t.c.id == exp.id, t.c.p_value > evidence["p_value"])
                     .values(p_value=evidence["p_value"]))
        conn.execute(update(t).where(t.c.id == exp.id, t.c.status == "running").values(evidence=evidence))


def _claim(ws: Workspace, exp: Experiment, evidence: dict[str, Any]) -> bool:
    """End the experiment with `evidence` unless another process already did (then False)."""
    with ws.db.begin() as conn:
        changed = conn.execute(update(t).where(t.c.id == exp.id, t.c.status == "running").values(
            status="decided", decision=evidence["decision"], evidence=evidence,
            ended_at=datetime.now(UTC))).rowcount
    return bool(changed)


def _store_evidence(ws: Workspace, experiment_id: int, evidence: dict[str, Any]) -> None:
    with ws.db.begin() as conn:
        conn.execute(update(t).where(t.c.id == experiment_id).values(evidence=evidence))


def _act(ws: Workspace, exp: Experiment, evidence: dict[str, Any]) -> dict[str, Any]:
    """Promote (when asked) and alert; the decision is already stored, so a failure here is
    reported in the result and the alert, never retried into a second promotion."""
    action: dict[str, Any] = {"promoted": False}
    if exp.auto_promote and evidence["decision"].startswith("winner:"):
        try:
            action = promote_winner(ws, exp, evidence["decision"].split(":", 1)[1], evidence)
        except Exception as exc:  # noqa: BLE001 — a failed promotion (any error) is recorded in the action and alerted, not raised
            action = {"promoted": False, "reason": f"promotion failed: {exc}"}
    _alert(ws, exp, evidence, action)
    return action


def _alert(ws: Workspace, exp: Experiment, evidence: dict[str, Any], action: dict[str, Any]) -> None:
    rates = ", ".join(f"{v['name']} {v['outcomes']}/{v['samples']}" for v in evidence["variants"])
    done = f"; {action['summary']}" if action.get("summary") else (
        f"; not promoted: {action['reason']}" if action.get("reason") else "")
    try:
        raise_alert(ws, source="experiments", severity="warning" if action.get("reason") else "info",
                    title=f"experiment {exp.id} on {exp.endpoint}: {evidence['decision']} ({rates}){done}",
                    detail={"experiment": exp.id, "endpoint": exp.endpoint, "decision": evidence["decision"],
                            "reason": evidence["reason"], "p_value": evidence["p_value"],
                            "effect": evidence["effect"], "interval": evidence["interval"], **action})
    except Exception as exc:  # noqa: BLE001 — the decision is stored; an alert store outage must not hide it
        log.error("experiment %d: could not raise the alert: %s", exp.id, exc)


def _report(ws: Workspace, exp: Experiment, evidence: dict[str, Any]) -> dict[str, Any]:
    report = exp.to_dict()
    del report["evidence"]  # its fields are the report's own
    report.update({k: evidence.get(k) for k in ("effect", "interval", "p_value", "reason", "action")})
    report["p_value"] = exp.p_value if exp.status == "running" else evidence.get("p_value", exp.p_value)
    report["decision"] = exp.decision
    report["variants"] = evidence.get("variants") or [
        {**v, "samples": 0, "outcomes": 0, "pending": 0, "rate": None} for v in exp.variants]
    report["rule"] = RULE.format(window=exp.settings["label_window"])
    report["looks"] = looks(ws, exp.id)
    return report


def looks(ws: Workspace, experiment_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """The stored looks, oldest first (the newest `limit`): the interval over time."""
    query = select(looks_t).where(looks_t.c.experiment_id == experiment_id).order_by(looks_t.c.id.desc()).limit(limit)
    with ws.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [{**r, "at": r["at"].isoformat()} for r in reversed(rows)]
