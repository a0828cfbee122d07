"""The drift report as one self-contained HTML page: tables plus inline SVG bar charts."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mloop.monitoring.drift import DriftReport
    from mloop.monitoring.stats import FeatureDrift

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left}
.bad{color:#a51d2d;font-weight:600}.good{color:#26a269}.card{margin:1.5rem 0}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
"""
REF_COLOR, CUR_COLOR = "#8da9c4", "#e66100"


def bars_svg(labels: list[str], reference: list[float] | None, current: list[float],
             width: int = 640, height: int = 180) -> str:
    """Grouped bars (reference vs current share per bin) as an inline SVG."""
    n = max(len(labels), 1)
    top = max([*current, *(reference or []), 0.01])
    slot = (width - 40) / n
    bar = slot / (2.6 if reference is not None else 1.6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img">']
    for i, label in enumerate(labels):
        x = 30 + i * slot
        series = [(reference, REF_COLOR, 0), (current, CUR_COLOR, 1)] if reference is not None \
            else [(current, CUR_COLOR, 0)]
        for values, color, k in series:
            value = values[i] if values and i < len(values) else 0.0
            h = value / top * (height - 10)
            parts.append(f'<rect x="{x + k * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {value:.1%}</title></rect>')
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{height + 14}" font-size="10" text-anchor="middle">'
                     f'{escape(label[:14])}</text>')
    parts.append(f'<line x1="28" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/></svg>')
    return "".join(parts)


def _feature_card(f: FeatureDrift) -> str:
    status = (f'<span class="bad">drift: {escape("; ".join(f.reasons))}</span>' if f.drifted
              else '<span class="good">no drift</span>')
    ks = f", KS {f.ks_statistic:.3f} (p={f.ks_pvalue:.2g})" if f.ks_statistic is not None else ""
    return (f'<div class="card"><h3>{escape(f.feature)} <small>({f.kind})</small></h3>'
            f"<p>PSI {f.psi:.3f}{ks}, missing {f.missing_current:.1%} (training {f.missing_reference:.1%})"
            f" — {status}</p>{bars_svg(f.bins, f.reference, f.current)}</div>")


def segments_html(report: DriftReport) -> str:
    """One row per model version and variant: its verdict and each feature's PSI (a slice with
    too few rows says so instead of showing numbers)."""
    if not report.segments:
        return ""
    names = [f.feature for f in report.features]
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = []
    for s in report.segments:
        by_name = {f["feature"]: f for f in s["features"]}
        cls = {"drift": "bad", "ok": "good"}.get(s["status"], "")
        cells = "".join(
            f"<td class=\"{'bad' if by_name[n]['drifted'] else ''}\">{by_name[n]['psi']:.3f}</td>" if n in by_name
            else "<td>-</td>" for n in names)
        pred = s["prediction"]
        mean = f"{pred['mean']:.3f}" if pred.get("count") else "-"
        why = escape("; ".join(s["reasons"])) if s["status"] != "ok" else ""
        rows.append(f"<tr><td>{escape(s['label'])}</td><td>{int(s['rows'])}</td>"
                    f"<td class=\"{cls}\" title=\"{why}\">{escape(s['status'])}</td><td>{mean}</td>{cells}</tr>")
    return ("<h2>By model version and variant</h2><p>Each slice against its own version's training data "
            "(PSI per feature).</p><table><tr><th>model version · variant</th><th>rows</th><th>verdict</th>"
            f"<th>mean prediction</th>{head}</tr>{''.join(rows)}</table>")


def render(report: DriftReport) -> str:
    """The whole page."""
    verdict = ('<p class="bad">DRIFT: ' + escape("; ".join(report.reasons)) + "</p>") if report.drifted \
        else '<p class="good">No threshold passed.</p>'
    rows = "".join(
        f"<tr><td>{escape(f.feature)}</td><td>{f.kind}</td><td>{f.psi:.3f}</td>"
        f"<td>{'' if f.ks_statistic is None else f'{f.ks_statistic:.3f}'}</td>"
        f"<td>{f.missing_current:.1%}</td><td class=\"{'bad' if f.drifted else 'good'}\">"
        f"{'drift' if f.drifted else 'ok'}</td></tr>" for f in report.features)
    served = ", ".join(f"{s.get('model_name')} v{s.get('model_version')} ({s.get('variant')}): {s.get('rows')}"
                       for s in report.served_by) or "-"
    pred = report.prediction
    pred_html = ""
    if pred.get("count"):
        base = pred.get("training_positive_rate")
        base_txt = f", click rate in training {base:.1%}" if base is not None else ""
        psi_txt = (f"; PSI {pred['psi']:.3f} against the model's scores on its training data "
                   f"(mean {pred['reference_mean']:.3f})" if "psi" in pred else "")
        pred_html = (f"<h2>Predictions</h2><p>{pred['count']} predictions, mean {pred['mean']:.3f}{base_txt}"
                     f"{psi_txt}</p>" + bars_svg(pred["bins"], pred.get("reference_shares"), pred["shares"]))
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>drift · {escape(report.endpoint)}"
            f"</title><style>{_STYLE}</style></head><body><h1>Drift report · {escape(report.endpoint)}</h1>"
            f"<p>window {escape(report.window)} · generated {escape(report.generated_at)} · "
            f"{report.rows_current} interactions vs {report.rows_reference} training rows</p>"
            f"<p>served by: {escape(served)}</p>{verdict}"
            f'<p class="legend"><span style="background:{REF_COLOR}"></span>training'
            f'<span style="background:{CUR_COLOR}"></span>traffic</p>'
            "<table><tr><th>feature</th><th>kind</th><th>PSI</th><th>KS</th><th>missing</th><th></th></tr>"
            f"{rows}</table>{segments_html(report)}{pred_html}"
            f"{''.join(_feature_card(f) for f in report.features)}</body></html>")
