"""`mloop endpoints compare`: how each shadow did against production on the same requests.

Read from the prediction log. Per variant: requests, errors, latency p50/p99 (over the copied
requests; a live variant's latency is its answer's, a shadow's is its parse and model call),
copies dropped, and agreement with production, pairing each shadow record with production's
answer to the same request id and row. Classifiers (probabilities): the share of decisions that
differ at `threshold`, Spearman's rank correlation and the mean absolute difference of the
probabilities. Regressors: the mean absolute and the mean relative difference.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput
from mloop.recipes.durations import parse_duration
from mloop.serving.endpoints.prediction_log import dropped, read_log
from mloop.serving.endpoints.records import get_endpoint

if TYPE_CHECKING:
    from mloop.store import Workspace

BASELINE = "production"


def compare(ws: Workspace, endpoint: str, *, since: str | None = "1h", threshold: float = 0.5) -> dict[str, Any]:
    """The comparison report of `endpoint` over the last `since` (None: everything logged).

    Returns:
        `{"endpoint", "since", "threshold", "variants": [...]}`; each variant has `variant`,
        `shadow`, `model`, `version`, `sample`, `requests`, `errors`, `error_rate`,
        `latency_ms` (`p50`, `p99`), `dropped` and, for shadows, `agreement` (None without pairs).

    Raises:
        EndpointNotFound: no such endpoint. InvalidInput: a bad `since` or `threshold`.
    """
    if not 0 < threshold < 1:
        raise InvalidInput(f"--threshold is a probability between 0 and 1, got {threshold}")
    ep = get_endpoint(ws, endpoint)
    start = datetime.now(UTC) - parse_duration(since) if since else None
    rows = read_log(ws, endpoint, start)
    report = summarize(rows, dropped(ws, endpoint, start), threshold)
    samples = {v.name: v.sample for v in ep.variants if v.shadow}
    for item in report:
        item["sample"] = samples.get(item["variant"]) if item["shadow"] else None
    return {"endpoint": endpoint, "since": since, "threshold": threshold, "variants": report}


def summarize(rows: list[dict[str, Any]], drops: dict[str, int], threshold: float = 0.5) -> list[dict[str, Any]]:
    """The per-variant report of prediction log rows (pure: see `compare`)."""
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], bool(row["shadow"])), []).append(row)
    for name in drops:
        groups.setdefault((name, True), [])
    baseline = {(r["request_id"], r["row"]): r["prediction"] for r in groups.get((BASELINE, False), [])}
    out = []
    for (name, shadow), mine in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0] != BASELINE, kv[0][0])):
        first: dict[str, dict[str, Any]] = {}  # one row per request: its latency and whether it failed
        for r in mine:
            first.setdefault(r["request_id"], r)
        errors = sum(1 for r in first.values() if r["error"])
        latencies = [r["latency_ms"] for r in first.values()]
        last = mine[-1] if mine else {}
        item: dict[str, Any] = {
            "variant": name, "shadow": shadow, "model": last.get("model_name"), "version": last.get("model_version"),
            "requests": len(first), "errors": errors, "error_rate": errors / len(first) if first else None,
            "latency_ms": {"p50": _quantile(latencies, 0.5), "p99": _quantile(latencies, 0.99)},
            "dropped": drops.get(name, 0) if shadow else None,
        }
        if shadow:
            item["agreement"] = agreement(mine, baseline, threshold)
        out.append(item)
    return out


def agreement(rows: list[dict[str, Any]], baseline: dict[tuple[str, int], float | None],
              threshold: float = 0.5) -> dict[str, Any] | None:
    """How a shadow's predictions agree with the baseline's on the same (request id, row)."""
    pairs: list[tuple[float, float]] = []
    for r in rows:
        base = baseline.get((r["request_id"], r["row"]))
        if base is not None and r["prediction"] is not None:
            pairs.append((float(base), float(r["prediction"])))
    if not pairs:
        return None
    live = [p for p, _ in pairs]
    shadow = [s for _, s in pairs]
    diffs = [abs(s - p) for p, s in pairs]
    task = next((r["task"] for r in rows if r.get("task")), None) or _guess_task(live + shadow)
    out: dict[str, Any] = {"baseline": BASELINE, "pairs": len(pairs), "task": task,
                           "mean_abs_diff": sum(diffs) / len(diffs)}
    if task == "classification":
        flips = sum(1 for p, s in pairs if (p >= threshold) != (s >= threshold))
        out["decisions_differ"] = flips / len(pairs)
        out["spearman"] = _spearman(live, shadow)
    else:
        out["mean_rel_diff"] = sum(d / max(abs(p), 1e-12) for d, p in zip(diffs, live, strict=True)) / len(diffs)
    return out


def _guess_task(values: list[float]) -> str:
    """A model that does not say (an MLflow pyfunc): probabilities live in [0, 1]."""
    return "classification" if all(0.0 <= v <= 1.0 for v in values) else "regression"


def _spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation; None when either side is constant (it is undefined)."""
    if len(a) < 2 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    from scipy.stats import spearmanr

    value = float(spearmanr(a, b).statistic)
    return None if math.isnan(value) else value


def _quantile(values: list[float], q: float) -> float | None:
    """The q-quantile (linear interpolation, numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
