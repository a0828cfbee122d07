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

from mloop.errors import InvalidInput, NotFound
from mloop.monitoring.drift import DriftReport, compare

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

# Columns the app logs that are not model inputs.
META_COLUMNS = {"request_id", "event_time", "prediction", "model_name", "model_version", "variant",
                "latency_ms", "endpoint", "input_issues"}


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

    Returns:
        The report, with `paths` (json, html, artifact) and `alert_id` when one was raised.

    Raises:
        NotFound: no interactions for this endpoint in the window, or no training data found.
    """
    from mloop.monitoring.reference import training_data

    cfg = ws.settings.monitoring
    window = window or cfg.window
    current = recent_interactions(ws, endpoint, window, now)
    served = served_by(current)
    info: dict[str, Any] = {"source": "given"}
    if reference is None:
        top = served[0]
        inputs = [c for c in current.columns if c not in META_COLUMNS]
        reference, info = training_data(ws, top["model_name"], int(top["model_version"]), inputs)
    features = [c for c in current.columns if c not in META_COLUMNS and c in reference.columns]
    if not features:
        expected = sorted(c for c in current.columns if c not in META_COLUMNS)
        raise InvalidInput(
            f"the reference data shares no feature column with the interactions of '{endpoint}'",
            hint=f"A reference needs some of: {', '.join(expected)} "
            f"(it has: {', '.join(map(str, reference.columns))}).",
        )
    label = "click" if "click" in reference.columns else None
    baseline = _baseline(ws, served[0], reference, info)
    report = compare(reference, current, features, cfg, endpoint=endpoint, window=window, label_column=label,
                     reference_predictions=baseline)
    report.served_by = served
    report.reference = info
    _write(ws, report, out_dir or ws.state_dir / "monitoring")
    if alert and report.drifted:
        report.alert_id = _alert(ws, report)
        _write(ws, report, out_dir or ws.state_dir / "monitoring")
    return report


def _baseline(ws: Workspace, top: dict[str, Any], reference: pd.DataFrame, info: dict[str, Any]) -> list[float] | None:
    """The serving model's scores on the reference, or None (noted in `info`) when unavailable."""
    from mloop.monitoring.reference import reference_predictions

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

    from mloop.features import extract
    from mloop.recipes.interactions import parse_duration

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
        from mloop.serving import get_endpoint

        served = get_endpoint(ws, endpoint)
        urls = frame["endpoint"].astype(str)
        models = {v.model_name for v in served.variants}
        # The app was started with a URL: attribute rows by the models this endpoint serves.
        mask = mask | (urls.str.startswith("http") & frame["model_name"].isin(models))
    except (ImportError, NotFound):
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


def _write(ws: Workspace, report: DriftReport, folder: Path) -> None:
    from mloop.monitoring.html import render

    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.generated_at.replace(":", "").replace("-", "")[:15]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.endpoint)[:60]
    base = folder / f"drift-{safe}-{stamp}"
    html = render(report)
    report.paths = {"json": str(base.with_suffix(".json")), "html": str(base.with_suffix(".html"))}
    report.paths["artifact"] = ws.artifacts.uri(ws.artifacts.put(html.encode()))
    _atomic_write(base.with_suffix(".html"), html)
    _atomic_write(base.with_suffix(".json"), json.dumps(report.to_dict(), indent=2, default=str))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _alert(ws: Workspace, report: DriftReport) -> int:
    from mloop.alerts import raise_alert

    drifted = [f for f in report.features if f.drifted]
    title = (f"drift on endpoint '{report.endpoint}': "
             + ", ".join(f"{f.feature} (PSI {f.psi:.2f})" for f in drifted[:4]))
    detail = {
        "endpoint": report.endpoint, "window": report.window, "rows": report.rows_current,
        "served_by": report.served_by, "reasons": report.reasons,
        "psi": {f.feature: round(f.psi, 4) for f in report.features},
        "report": report.paths.get("html"),
    }
    alert = raise_alert(ws, source=f"monitoring/drift/{report.endpoint}", severity="warning",
                        title=title, detail=detail)
    return alert.id
