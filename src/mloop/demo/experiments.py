"""Chapter: a shadow of the challenger compared on real requests, promoted to a 50% canary; an
A/B test decided by the always-valid test promotes the winner; then an A/A test ends
`no_difference`.

Simulated users whose true click rates differ by variant (10% for production, 12% for the
challenger) are written straight into the app's interactions and feedback groups through the
app's own write path (`InteractionStore`, i.e. `put_records`), 2,000 per variant between two
looks: sending ~30,000 requests through HTTP would take minutes. One user in ten never says
what they did: those predictions stay pending until their label window closes, then count as no
click. The users' records and each variant's predictions for them come from the running model
server, so the log reads like the app's. Each look is `experiments.evaluate`, what `mloop
experiments show` and the dashboard run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mloop import registry, serving
from mloop.demo import DemoContext
from mloop.demo.processes import wait_for
from mloop.demo.serving import _answer
from mloop.demo.traffic import send_users, users
from mloop.web.inference.store import InteractionStore

if TYPE_CHECKING:
    from mloop.web.inference.store import InteractionStore

TITLE = ("Experiments: a shadow compared, then a 50% canary; an A/B test decided by an always-valid test "
         "promotes the winner; an A/A test ends no_difference")
NEEDS: tuple[str, ...] = ("features", "pipelines", "serving", "app")
RATES = {"production": 0.10, "canary": 0.12}  # the simulated users' true click rates
BATCH = 2000  # users per variant between two looks
MAX_LOOKS = 15
ANSWER_RATE = 0.9
SHADOW_USERS = 150  # real requests through the app while the challenger is a shadow


def run(ctx: DemoContext) -> None:
    # deferred: imports numpy (loaded when this chapter runs)
    from mloop import experiments

    ws = ctx.workspace
    endpoint = ctx.state["app_endpoint"]
    model = ctx.state["serving_model"]
    production = serving.get_endpoint(ws, endpoint).variant("production")
    serving.set_follow(ws, endpoint, None, None)  # this chapter places the canary itself (before approving)
    challenger = _challenger(ctx, model, production.model_version)
    _shadow_first(ctx, endpoint, model, challenger)
    serving.promote(ws, endpoint, "canary", weight=50)
    ctx.did(f"promoted the shadow to a 50% canary beside production v{production.model_version}",
            f"mloop endpoints promote {endpoint} canary --weight 50")
    store = InteractionStore(ws, ws.settings.app)
    exp = experiments.start(ws, endpoint, ["production", "canary"], auto_promote=True)
    ctx.did(f"started experiment {exp.id}: production vs canary on ctr, alpha 0.05, auto-promote",
            f"mloop experiments start {endpoint} --variants production,canary --metric ctr --auto-promote")
    report = _run_until_decided(ctx, store, exp.id, endpoint, RATES, seed=31)
    ctx.state.update(experiment_id=exp.id, experiment_decision=report["decision"])
    if report["decision"] == "winner:canary":
        wait_for(lambda: _served_version(ctx) == str(challenger), "the server to serve the winner")
        ctx.did(f"the endpoint now serves v{challenger} to everyone; the change is in its history with "
                f"the evidence, and an alert was raised", f"mloop endpoints history {endpoint}")
    _aa(ctx, store, endpoint, model)
    serving.set_follow(ws, endpoint, model, 20)


def _shadow_first(ctx: DemoContext, endpoint: str, model: str, version: int) -> None:
    """The challenger sees copies of real requests through the app, answers none, and is compared."""
    serving.deploy_shadow(ctx.workspace, endpoint, model, variant="canary", version=version)
    ctx.did(f"deployed {model} v{version} as a shadow: it gets a copy of every request, after the answer",
            f"mloop deploy {endpoint} --model {model} --version {version} --variant canary --shadow")
    app_url = str(ctx.state["app_url"])

    def shadowed(at_least: int) -> dict[str, Any] | None:
        report = serving.compare(ctx.workspace, endpoint, since="1h")
        shadow = next((v for v in report["variants"] if v["shadow"] and v["variant"] == "canary"), None)
        return shadow if shadow and shadow["requests"] >= at_least else None

    # One user at a time until the server has loaded the shadow (its first copy is in the log).
    wait_for(lambda: send_users(app_url, users(1, seed=28), seed=28) and shadowed(1), "the server to load the shadow")
    before = int((shadowed(1) or {}).get("requests", 0))
    sent = send_users(app_url, users(SHADOW_USERS, seed=29), seed=29)
    wait_for(lambda: shadowed(before + sent["predictions"]), "the shadow's predictions in the prediction log")
    shadow = shadowed(0) or {}
    agree = shadow.get("agreement") or {}
    ctx.did(f"{sent['predictions']} users through the app; the shadow answered {shadow['requests'] - before} copies "
            f"({shadow.get('errors')} errors, p99 {shadow['latency_ms']['p99']:.1f} ms): decisions differ on "
            f"{agree.get('decisions_differ', 0):.0%} of records, rank correlation {agree.get('spearman') or 0:.2f}, "
            f"mean |Δp| {agree.get('mean_abs_diff', 0):.3f}", f"mloop endpoints compare {endpoint}")


def _challenger(ctx: DemoContext, model: str, serving_version: int) -> int:
    """The version the monitoring chapter retrained on the loop (approved here), else the other
    approved version the serving chapter made."""
    ws = ctx.workspace
    retrained = ctx.state.get("retrained_version")
    if retrained and ctx.state.get("retrained_status") == "PendingManualApproval":
        registry.approve(ws, model, int(retrained), principal=ws.settings.principal,
                         comment="retrained on the loop; try it against production in an A/B test")
        ctx.did(f"approved the retrained {model} v{retrained} for an A/B test")
        return int(retrained)
    approved = [int(v.version) for v in registry.versions(ws, model)
                if v.status == "Approved" and int(v.version) != serving_version]
    return max(approved)


def _run_until_decided(ctx: DemoContext, store: InteractionStore, exp_id: int, endpoint: str,
                       rates: dict[str, float], seed: int) -> dict[str, Any]:
    import numpy as np

    # deferred: imports numpy (loaded when this chapter runs)
    from mloop import experiments

    rng = np.random.default_rng(seed)
    arms = experiments.get_experiment(ctx.workspace, exp_id).variants
    pool = _scored_users(ctx, arms, seed)
    report: dict[str, Any] = {}
    for _ in range(MAX_LOOKS):
        _simulate(store, endpoint, arms, rates, rng, pool)
        report = experiments.evaluate(ctx.workspace, exp_id)
        if report["decision"] != "running":
            break
    _show(ctx, report)
    return report


def _scored_users(ctx: DemoContext, arms: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """BATCH ad-click records and each variant's predictions for them, asked of the running model
    server (pinned to the variant with a deployer's token): the log reads like the app's."""
    import httpx

    records = users(BATCH, seed=seed)
    headers = {"Authorization": f"Bearer {ctx.state['tokens']['deployer']}"}
    scores: dict[str, list[float]] = {}
    with httpx.Client(base_url=str(ctx.state["endpoint_url"]), timeout=60, headers=headers) as http:
        for arm in arms:
            def scored(arm: dict[str, Any] = arm) -> bool:
                r = http.post("/invocations", json={"instances": records},
                              headers={"X-Mloop-Target-Variant": arm["name"]})
                if r.status_code != 200 or r.headers.get("x-mloop-model-version") != str(arm["model_version"]):
                    return False  # the server has not loaded the new configuration yet
                scores[arm["name"]] = [float(p) for p in r.json()["predictions"]]
                return True

            wait_for(scored, f"variant {arm['name']} to answer")
    return {"records": records, "scores": scores}


def _simulate(store: InteractionStore, endpoint: str, arms: list[dict[str, Any]], rates: dict[str, float],
              rng: Any, pool: dict[str, Any]) -> None:
    """BATCH users per variant: a logged prediction each, and feedback from most of them."""
    now = datetime.now(UTC)
    interactions, feedback = [], []
    for arm in arms:
        clicked = rng.random(BATCH) < rates[arm["name"]]
        answered = rng.random(BATCH) < ANSWER_RATE
        scores = pool["scores"][arm["name"]]
        for i in range(BATCH):
            rid = uuid.uuid4().hex
            interactions.append({"request_id": rid, "event_time": now, **pool["records"][i],
                                 "prediction": scores[i], "model_name": arm["model_name"],
                                 "model_version": arm["model_version"], "variant": arm["name"],
                                 "endpoint": endpoint})
            if answered[i]:
                feedback.append({"request_id": rid, "event_time": now + timedelta(seconds=float(rng.uniform(1, 60))),
                                 "clicked": int(clicked[i]), "model_version": arm["model_version"],
                                 "variant": arm["name"]})
    store.write_interactions(interactions)
    store.write_feedback(feedback)


def _show(ctx: DemoContext, report: dict[str, Any]) -> None:
    for v in report["variants"]:
        ctx.say(f"{v['name']:<10} v{v['model_version']}: {v['outcomes']:>5} clicks / {v['samples']:>6} final "
                f"outcomes = {v['rate']:.2%}  [dim]({v['pending']} silent users pending)[/]")
    lo, hi = report["interval"]
    ctx.did(f"after {len(report['looks'])} looks: [bold]{report['decision']}[/] — effect "
            f"{report['effect'] * 100:+.2f} pt, 95% confidence sequence [{lo * 100:+.2f}, {hi * 100:+.2f}] pt, "
            f"always-valid p {report['p_value']:.3g} ({report['reason']})",
            f"mloop experiments show {report['id']}")
    action = report.get("action") or {}
    if action.get("summary") or action.get("reason"):
        ctx.did(action.get("summary") or f"not promoted: {action['reason']}")
    ctx.say(f"[dim]rule: {report['rule']}[/]")


def _aa(ctx: DemoContext, store: InteractionStore, endpoint: str, model: str) -> None:
    """Both variants serve the same version: the test must not find a winner."""
    # deferred: imports numpy (loaded when this chapter runs)
    from mloop import experiments

    ws = ctx.workspace
    version = serving.get_endpoint(ws, endpoint).variant("production").model_version
    serving.deploy(ws, endpoint, model, version=version, variant="canary", weight=50)
    exp = experiments.start(ws, endpoint, ["production", "canary"], auto_promote=True, margin=0.02)
    ctx.did(f"A/A test: experiment {exp.id}, v{version} as both production and a 50% canary, users click "
            "10% on both; equivalence margin ±2 pt (the lift we look for)")
    report = _run_until_decided(ctx, store, exp.id, endpoint, {"production": 0.10, "canary": 0.10}, seed=37)
    ctx.state.update(aa_experiment_id=exp.id, aa_decision=report["decision"])
    serving.deploy(ws, endpoint, model, version=version)  # back to one variant


def _served_version(ctx: DemoContext) -> str:
    """The model version the model server answers with now (it follows the endpoint's changes)."""
    import httpx

    with httpx.Client(base_url=str(ctx.state["endpoint_url"]), timeout=10) as http:
        versions = {_answer(http)[1] for _ in range(10)}
    return versions.pop() if len(versions) == 1 else ""
