"""The endpoint page's experiment panel: rates per variant and the confidence sequence over time.

Opening the page is a look (the experiment is evaluated, and may decide), like `mloop experiments
show`: the test stays valid however often anyone looks. The chart is server-rendered SVG built
from numbers only, so nothing a caller sent reaches it, and the CSP needs no script.
"""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 560, 180, 36


def experiment_panel(ws: Any, endpoint: str) -> dict[str, Any] | None:
    """The running experiment of `endpoint` after a look (else its latest one, as it ended)."""
    from mloop.errors import MloopError
    from mloop.experiments import evaluate, list_experiments

    found = list_experiments(ws, endpoint=endpoint, status="running", limit=1) or \
        list_experiments(ws, endpoint=endpoint, limit=1)
    if not found:
        return None
    try:
        report = evaluate(ws, found[0].id)
    except MloopError as exc:  # the page still shows the endpoint; the panel says why it cannot look
        return {"id": found[0].id, "error": exc.message, "hint": exc.hint}
    report["chart"] = interval_chart(report["looks"], float(report["settings"]["margin"]))
    return report


def interval_chart(looks: list[dict[str, Any]], margin: float) -> dict[str, Any] | None:
    """Polygon and polyline coordinates of the effect and its interval against the samples seen."""
    if not looks:
        return None
    xs = [min(c[0] for c in look["counts"].values()) for look in looks]
    settled = looks[len(looks) // 5:]  # the first looks' intervals are huge: scale to the rest
    span = max(3 * margin, *(max(abs(look["lower"]), abs(look["upper"])) for look in settled))
    x_max = max(xs[-1], 1)

    def x(n: float) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * n / x_max, 1)

    def y(v: float) -> float:
        v = max(-span, min(span, v))
        return round(HEIGHT / 2 - (HEIGHT / 2 - 12) * v / span, 1)

    upper = [f"{x(n)},{y(look['upper'])}" for n, look in zip(xs, looks, strict=True)]
    lower = [f"{x(n)},{y(look['lower'])}" for n, look in zip(xs, looks, strict=True)]
    return {
        "width": WIDTH, "height": HEIGHT, "left": PAD, "right": WIDTH - PAD,
        "band": " ".join(upper + lower[::-1]),
        "effect": " ".join(f"{x(n)},{y(look['effect'])}" for n, look in zip(xs, looks, strict=True)),
        "zero": y(0.0), "margin_top": y(margin), "margin_bottom": y(-margin),
        "span_pts": round(span * 100, 2), "x_max": x_max,
    }
