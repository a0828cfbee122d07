"""`drift_report(ws, endpoint)`: gather both sides, compare, write the report, alert.

Current side: the interactions the app logged for this endpoint in the last window. Reference
side: the training data of the model version that served most of them, found through lineage
(`mloop.monitoring.reference`). The report lands in `.mloop/monitoring/` (JSON + HTML) and in
the artifact store; passing a threshold raises an alert through `mloop.alerts`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.alerts import raise_alert
from mloop.errors import InvalidInput, NotFound
from mloop.features import extract
from mloop.monitoring.drift import DriftReport, compare
from mloop.monitoring.html import render
from mloop.monitoring.reference import reference_predictions, training_data
from mloop.monitoring.retrain import retrain_on_drift
from mloop.monitoring.segments import segment_keys, split_drift
from mloop.recipes.durations import parse_duration
from mloop.serving import get_endpoint
from mloop.store.files import atomic_write

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

    # training data, where it came from, the model's scores on it (None: unavailable)
    _Reference = tuple[pd.DataFrame, dict[str, Any], list[float] | None]

# Columns the app logs that are not model inputs.
META_COLUMNS = {"request_id", "event_time", "prediction", "model_name", "model_version", "variant",
                "latency_ms", "endpoint", "input_issues", "shadow"}


def drift_report(ws: Workspace, endpoint: str, *, window: str | None = None, now: datetime | None = None,
                 reference: pd.DataFrame | None = None, alert: bool = True,
                 out_dir: Path | None = None) -> DriftReport:
    """Compare the endpoint's recent traffic with its model's training data.

    Args:
        endpoint: the endpoint name (or the URL the app was started with).
        window: how far back to look (default `monitoring.window`): `30m`, `1h`, `7d`.
        now: the end of the window (default: now).
        reference: the training data to compare with (default: found through lineage).
        alert: raise an alert through `mloop.alerts` when a threshold is passed.
        out_dir: where to write the JSON and HTML (default `.mloop/monitoring/`).

    The report splits the traffic by model version and variant (shadow copies apart) and
    judges each slice against its own version's training data; drift in any slice is drift.
    With `[monitoring] retrain_on_drift`, an alert starts a retraining release
    (`mloop.monitoring.retrain`) and the report records what was decided.

    Returns:
        The report, with `paths` (json, html, artifact, digest), `segments`, `alert_id` when one
        was raised and `retrain` when retraining on drift decided something.

    Raises:
        NotFound: no interactions for this endpoint in the window, or no training data found.
    """
    cfg = ws.settings.monitoring
    window = window or cfg.window
    current = recent_interactions(ws, endpoint, window, now)
    keys = segment_keys(current)
    served_rows = current[~keys["shadow"].to_numpy()] if not keys["shadow"].all() else current
    served = served_by(served_rows)
    inputs = [c for c in current.columns if c not in META_COLUMNS]
    references = _References(ws, inputs, given=reference)
    reference, info, baseline = references.get(served[0]["model_name"], served[0]["model_version"])
    features = [c for c in inputs if c in reference.columns]
    if not features:
        raise InvalidInput(
            f"the reference data shares no feature column with the interactions of '{endpoint}'",
            hint=f"A reference needs some of: {', '.join(sorted(inputs))} "
            f"(it has: {', '.join(map(str, reference.columns))}).",
        )
    label = "click" if "click" in reference.columns else None
    # Shadow copies repeat the inputs production saw: the overall report is the traffic users sent.
    report = compare(reference, served_rows, features, cfg, endpoint=endpoint, window=window,
                     label_column=label, reference_predictions=baseline)
    report.served_by = served
    report.reference = info
    report.segments = [s.to_dict() for s in split_drift(current, features, cfg, references.get,
                                                        label_column=label)]
    _judge_segments(report)
    folder = out_dir or ws.state_dir / "monitoring"
    _plan_paths(report, folder)
    if alert and report.drifted:
        report.alert_id = _alert(ws, report)
    _write(ws, report, folder)
    if report.alert_id is not None:
        decision = retrain_on_drift(ws, report)
        if decision is not None:
            report.retrain = decision.to_dict()
            write_json(report)
    return report


def _judge_segments(report: DriftReport) -> None:
    """Drift in any one version or variant is drift of the endpoint: it names the slice."""
    drifted = [s for s in report.segments if s["status"] == "drift"]
    if not drifted:
        return
    if not report.drifted:
        report.reasons = []  # the overall verdict ("not judged", or none) no longer stands alone
    report.drifted = True
    report.reasons.extend(f"{s['label']}: {r}" for s in drifted for r in s["reasons"])


class _References:
    """The training data (and baseline scores) of each model version, loaded once per version.

    A version whose lineage records no data is compared with the given reference or with the
    first version's data, and says so in its `reference` info."""

    def __init__(self, ws: Workspace, inputs: list[str], given: pd.DataFrame | None) -> None:
        self.ws, self.inputs, self.given = ws, inputs, given
        self.cache: dict[tuple[str | None, int | None], _Reference] = {}
        self.fallback: _Reference | None = None

    def get(self, model: str | None, version: int | None) -> _Reference:
        key = (model, version)
        if key in self.cache:
            return self.cache[key]
        found: _Reference
        if self.given is not None:
            found = (self.given, {"source": "given"}, None)
        elif model is None or version is None:
            found = self._fallback(f"the interactions name no model version ({model} v{version})")
        else:
            try:
                frame, info = training_data(self.ws, model, int(version), self.inputs)
                found = (frame, info, _baseline(self.ws, {"model_name": model, "model_version": version}, frame, info))
            except NotFound as exc:
                found = self._fallback(exc.message)
        self.fallback = self.fallback or found
        self.cache[key] = found
        return found

    def _fallback(self, why: str) -> _Reference:
        if self.fallback is None:
            raise NotFound(f"no training data to compare with: {why}",
                           hint="Pass the training data explicitly: `mloop monitor drift ENDPOINT --reference FILE`.")
        frame, info, _ = self.fallback
        return frame, {**info, "note": f"{why}; compared with {info.get('model')} v{info.get('version')}'s data"}, None


def _baseline(ws: Workspace, top: dict[str, Any], reference: pd.DataFrame, info: dict[str, Any]) -> list[float] | None:
    """The serving model's scores on the reference, or None (noted in `info`) when unavailable."""
    if info.get("source") == "given" or top.get("model_name") is None or top.get("model_version") is None:
        return None  # a reference given by hand need not be what this model was trained on
    try:
        return reference_predictions(ws, str(top["model_name"]), int(top["model_version"]), reference)
    except Exception as exc:  # noqa: BLE001 — a report without the baseline beats no report
        info["reference_predictions"] = f"unavailable: {type(exc).__name__}: {exc}"[:300]
        return None


def recent_interactions(ws: Workspace, endpoint: str, window: str, now: datetime | None = None) -> pd.DataFrame:
    """The interactions logged for `endpoint` within `window` before `now`."""
    import pandas as pd

    group = ws.settings.app.interactions_group
    end = now or datetime.now(UTC)
    start = end - parse_duration(window)
    frame = extract(ws, group)
    if frame.empty:
        raise NotFound(f"no interactions logged in '{group}' yet",
                       hint="Start the app with `mloop app --endpoint NAME` and send it traffic.")
    times = pd.to_datetime(frame["event_time"], utc=True)
    frame = frame[(times > start) & (times <= end)]
    mine = frame[_belongs(ws, frame, endpoint)]
    if mine.empty:
        seen = sorted({str(e) for e in frame.get("endpoint", pd.Series(dtype=str)).dropna()})
        raise NotFound(f"no interactions for endpoint '{endpoint}' in the last {window}",
                       hint=(f"endpoints with traffic in that window: {', '.join(seen)}" if seen
                             else "no traffic at all in that window; try a longer --window."))
    return mine.reset_index(drop=True)


def _belongs(ws: Workspace, frame: pd.DataFrame, endpoint: str) -> pd.Series:
    mask = frame["endpoint"].astype(str).str.rstrip("/") == endpoint.rstrip("/")
    try:
        served = get_endpoint(ws, endpoint)
        urls = frame["endpoint"].astype(str)
        models = {v.model_name for v in served.variants}
        # The app was started with a URL: attribute rows by the models this endpoint serves.
        mask = mask | (urls.str.startswith("http") & frame["model_name"].isin(models))
    except NotFound:
        pass
    return mask


def served_by(current: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows per (model, version, variant), most first."""
    keys = ["model_name", "model_version", "variant"]
    counts = current.groupby(keys, dropna=False).size().reset_index(name="rows")
    counts = counts.sort_values("rows", ascending=False)
    return [{k: (None if _isna(v) else (int(v) if k in ("model_version", "rows") else v))
             for k, v in row.items()} for row in counts.to_dict("records")]


def _isna(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN
    except Exception:  # noqa: BLE001 — any value whose != raises (arrays, odd objects) is not NaN
        return value is None


def _plan_paths(report: DriftReport, folder: Path) -> None:
    """Name the report's files before writing them, so the alert can point at them."""
    stamp = report.generated_at.replace(":", "").replace("-", "")[:22].replace(".", "")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.endpoint)[:60]
    base = folder / f"drift-{safe}-{stamp}"
    report.paths = {"json": str(base.with_suffix(".json")), "html": str(base.with_suffix(".html"))}


def _write(ws: Workspace, report: DriftReport, folder: Path) -> None:
    """The HTML page (also stored content-addressed: its digest names the report in lineage) and
    the JSON beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    html = render(report)
    digest = ws.artifacts.put(html.encode())
    report.paths.update(artifact=ws.artifacts.uri(digest), digest=digest)
    atomic_write(report.paths["html"], html)
    write_json(report)


def write_json(report: DriftReport) -> None:
    """(Re)write the report's JSON file (after the retraining decision was added to it)."""
    atomic_write(report.paths["json"], json.dumps(report.to_dict(), indent=2, default=str))


def _alert(ws: Workspace, report: DriftReport) -> int:
    drifted = [f for f in report.features if f.drifted]
    slices = [s["label"] for s in report.segments if s["status"] == "drift"]
    title = (f"drift on endpoint '{report.endpoint}': "
             + ", ".join([*(f"{f.feature} (PSI {f.psi:.2f})" for f in drifted[:4]),
                          *(f"in {label}" for label in slices[:3])]))[:480]
    detail = {
        "endpoint": report.endpoint, "window": report.window, "rows": report.rows_current,
        "served_by": report.served_by, "reasons": report.reasons,
        "psi": {f.feature: round(f.psi, 4) for f in report.features},
        "report": report.paths.get("html"),
        "segments": {s["label"]: s["status"] for s in report.segments},
    }
    alert = raise_alert(ws, source=f"monitoring/drift/{report.endpoint}", severity="warning",
                        title=title, detail=detail)
    return alert.id
