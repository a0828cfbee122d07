"""Experiment records: start (with the checks a new user needs), read, list, stop.

An experiment pins each variant to the model version it served at the start: outcomes of a
version deployed later under the same variant name are not mixed in, and a promotion happens
only if the endpoint still serves the versions that were compared.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from mloop.auth import acting_principal
from mloop.errors import NotFound, did_you_mean
from mloop.experiments.errors import ExperimentConflict, ExperimentNotFound, InvalidExperiment
from mloop.experiments.stats import DEFAULT_TAU
from mloop.experiments.tables import experiments as t
from mloop.features import get_group
from mloop.recipes.durations import parse_duration
from mloop.serving import get_endpoint

if TYPE_CHECKING:
    from sqlalchemy import Row

    from mloop.store import Workspace

METRICS = {"ctr": "click-through rate: clicked feedback within the label window / predictions"}
DEFAULT_MARGIN = 0.01
DEFAULT_MIN_SAMPLES = 1000
DEFAULT_MAX_SAMPLES = 50_000


@dataclass
class Experiment:
    """One A/B test: what it compares, how it decides, and where it stands."""

    id: int
    endpoint: str
    metric: str
    variants: list[dict[str, Any]]  # [{name, model_name, model_version}], control first
    settings: dict[str, Any]  # alpha, tau, margin, min_samples, max_samples, label_window, groups
    auto_promote: bool
    status: str  # running | decided | stopped
    decision: str  # running | winner:<variant> | no_difference | stopped
    p_value: float
    evidence: dict[str, Any] = field(default_factory=dict)
    principal: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "ended_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def start(
    ws: Workspace, endpoint: str, variants: list[str], *, metric: str = "ctr", alpha: float = 0.05,
    tau: float | None = None, margin: float = DEFAULT_MARGIN, min_samples: int = DEFAULT_MIN_SAMPLES,
    max_samples: int = DEFAULT_MAX_SAMPLES, auto_promote: bool = False, label_window: str | None = None,
    principal: str | None = None,
) -> Experiment:
    """Start an A/B test of two variants of `endpoint` on `metric`.

    Args:
        variants: two variant names of the endpoint; the first is the control (the effect is
            second minus first).
        alpha: the chance of ever declaring a winner when the variants do not differ.
        tau: the mixing scale of the test (default: `stats.DEFAULT_TAU`).
        margin: the practical-equivalence margin of `no_difference` (a rate difference).
        min_samples: samples each variant needs before the test may decide.
        max_samples: samples per variant after which a test without a winner ends `no_difference`.
        auto_promote: promote a significant winner (or take a losing canary to weight 0).
        label_window: how long after a prediction feedback counts (default `[app] label_window`).

    Raises:
        InvalidExperiment: not two distinct variants of the endpoint, an unknown metric, a bad
            alpha or sample limit, or no feedback group for the outcomes.
        EndpointNotFound: no such endpoint. ExperimentConflict: one is already running there.
    """
    found = get_endpoint(ws, endpoint)
    arms = _check_variants(endpoint, variants, [v.name for v in found.variants])
    _check_metric(metric)
    _check_numbers(alpha, tau, margin, min_samples, max_samples)
    app = ws.settings.app
    window = label_window or app.label_window
    parse_duration(window)
    pinned = []
    for name in arms:
        v = found.variant(name)
        if v.shadow:
            raise InvalidExperiment(
                f"variant '{name}' of endpoint '{endpoint}' is a shadow: its answers reach no user, so no "
                "user's feedback can judge it",
                hint=f"Compare it first (`mloop endpoints compare {endpoint}`), then give it traffic: "
                     f"`mloop endpoints promote {endpoint} {name} --weight 50`.")
        if v.weight == 0:
            raise InvalidExperiment(
                f"variant '{name}' of endpoint '{endpoint}' has weight 0: it gets no traffic to compare",
                hint=f"Give it traffic first: `mloop endpoints set-weights {endpoint} production=50 {name}=50`.")
        pinned.append({"name": v.name, "model_name": v.model_name, "model_version": v.model_version})
    _check_groups(ws, endpoint)
    settings = {"alpha": alpha, "tau": tau or DEFAULT_TAU, "margin": margin, "min_samples": min_samples,
                "max_samples": max_samples, "label_window": window,
                "interactions_group": app.interactions_group, "feedback_group": app.feedback_group}
    now = datetime.now(UTC)
    values: dict[str, Any] = {"endpoint": endpoint, "metric": metric, "variants": pinned, "settings": settings,
              "auto_promote": auto_promote, "status": "running", "decision": "running", "p_value": 1.0,
              "evidence": {}, "principal": principal or acting_principal(ws), "started_at": now,
              "ended_at": None}
    with ws.db.begin() as conn:
        running = _running_on(conn, endpoint)
        if running is not None:
            raise ExperimentConflict(
                f"endpoint '{endpoint}' already runs experiment {running}",
                hint=f"Stop it first: `mloop experiments stop {running}`, or watch it: "
                     f"`mloop experiments show {running}`.")
        key = conn.execute(t.insert().values(**values)).inserted_primary_key
    return Experiment(id=int(key[0]) if key else 0, **values)


def _check_variants(endpoint: str, variants: list[str], known: list[str]) -> list[str]:
    names = [v.strip() for v in variants if v.strip()]
    deploy_hint = (f"Deploy a second version as a canary: `mloop deploy {endpoint} --model NAME --version N "
                   f"--variant canary --weight 50`, then `--variants production,canary`.")
    if len(names) != 2 or len(set(names)) != 2:
        raise InvalidExperiment(
            f"an experiment compares two different variants; got {len(set(names))} ({', '.join(names) or 'none'})",
            hint=deploy_hint if len(known) < 2 else f"Endpoint '{endpoint}' has: {', '.join(known)}.")
    for name in names:
        if name not in known:
            raise InvalidExperiment(
                f"endpoint '{endpoint}' has no variant '{name}' (it has: {', '.join(known)})",
                hint=did_you_mean(name, known) + ". " + deploy_hint if len(known) < 2 else did_you_mean(name, known))
    return names


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise InvalidExperiment(
            f"unknown metric '{metric}'",
            hint=did_you_mean(metric, METRICS) + ". Metrics: "
                 + "; ".join(f"{k} ({v})" for k, v in METRICS.items()))


def _check_numbers(alpha: float, tau: float | None, margin: float, min_samples: int, max_samples: int) -> None:
    if not 0 < alpha < 0.5:
        raise InvalidExperiment(f"--alpha {alpha} is not between 0 and 0.5", hint="The usual choice is 0.05.")
    if tau is not None and not 0 < tau < 1:
        raise InvalidExperiment(f"--tau {tau} is not between 0 and 1",
                                hint="tau is the size of lift you expect, as a rate difference: 0.02 = two points.")
    if not 0 < margin < 1:
        raise InvalidExperiment(f"--margin {margin} is not between 0 and 1",
                                hint="The margin is a rate difference too small to matter, e.g. 0.01.")
    if min_samples < 1 or max_samples < min_samples:
        raise InvalidExperiment(f"sample limits {min_samples}..{max_samples} are not 1 <= min <= max",
                                hint="e.g. --min-samples 1000 --max-samples 50000")


def _check_groups(ws: Workspace, endpoint: str) -> None:
    """The outcomes come from the app's feedback joined to its interactions: both must exist."""
    app = ws.settings.app
    start_app = f"Start the inference app in front of the endpoint (`mloop app --endpoint {endpoint}`): it "
    if not app.log_interactions:
        raise InvalidExperiment(
            "the app logs no interactions or feedback ([app] log_interactions = false): an experiment "
            "would have no outcomes", hint="Set [app] log_interactions = true and restart `mloop app`.")
    for kind, group in (("interactions", app.interactions_group), ("feedback", app.feedback_group)):
        try:
            get_group(ws, group)
        except NotFound:
            raise InvalidExperiment(
                f"no feedback to decide on: the {kind} group '{group}' ([app] {kind}_group) does not exist",
                hint=start_app + "creates the interactions and feedback groups; users' feedback goes to "
                     "POST /api/feedback.") from None


def _running_on(conn: Any, endpoint: str) -> int | None:
    query = select(t.c.id).where(t.c.endpoint == endpoint, t.c.status == "running")
    value = conn.execute(query).scalar()
    return int(value) if value is not None else None


def get_experiment(ws: Workspace, experiment_id: int) -> Experiment:
    """The experiment `experiment_id` (no evaluation: see `evaluate`).

    Raises:
        ExperimentNotFound: no such experiment.
    """
    with ws.db.begin() as conn:
        row = conn.execute(select(t).where(t.c.id == int(experiment_id))).first()
    if row is None:
        raise ExperimentNotFound(f"experiment {experiment_id} not found")
    return _from_row(row)


def list_experiments(ws: Workspace, *, endpoint: str | None = None, status: str | None = None,
                     limit: int = 100) -> list[Experiment]:
    """Experiments, newest first, optionally of one endpoint or status."""
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if endpoint:
        query = query.where(t.c.endpoint == endpoint)
    if status:
        query = query.where(t.c.status == status)
    with ws.db.begin() as conn:
        return [_from_row(r) for r in conn.execute(query)]


def stop(ws: Workspace, experiment_id: int) -> Experiment:
    """Stop a running experiment: no decision, nothing promoted; its outcomes stay readable.

    Raises:
        ExperimentNotFound; ExperimentConflict: it already ended.
    """
    current = get_experiment(ws, experiment_id)
    with ws.db.begin() as conn:
        changed = conn.execute(update(t).where(t.c.id == current.id, t.c.status == "running").values(
            status="stopped", decision="stopped", ended_at=datetime.now(UTC))).rowcount
    if not changed:
        raise ExperimentConflict(f"experiment {current.id} already ended ({current.decision})",
                                 hint="Start a new one with `mloop experiments start`.")
    return get_experiment(ws, experiment_id)


def _from_row(row: Row[Any]) -> Experiment:
    return Experiment(**row._mapping)
