"""The endpoint page's experiment panel: rates per variant and the confidence sequence over time.

Opening the page is a look (the experiment is evaluated, and may decide), like `mloop experiments
show`: the test stays valid however often anyone looks. The chart is server-rendered SVG built
from numbers only, so nothing a caller sent reaches it, and the CSP needs no script.
"""

from __future__ import annotations

from typing import Any

from mloop.errors import MloopError

WIDTH, HEIGHT, PAD = 560, 180, 36


def experiment_panel(ws: Any, endpoint: str) -> dict[str, Any] | None:
    """The running experiment of `endpoint` after a look (else its latest one, as it ended)."""
    # deferred: imports numpy (the servers start without it)
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
    report["rates_chart"] = rates_chart(report["looks"], [v["name"] for v in report["variants"]])
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


COLOURS = ("#1f5fbf", "#a86b00")


def rates_chart(looks: list[dict[str, Any]], names: list[str]) -> dict[str, Any] | None:
    """One polyline per variant: its click rate at each look, against the samples seen."""
    points = [(min(c[0] for c in look["counts"].values()), look["counts"]) for look in looks
              if all(look["counts"].get(n, [0])[0] for n in names)]
    if not points:
        return None
    rates = [[counts[n][1] / counts[n][0] for _, counts in points] for n in names]
    top = max(max(r) for r in rates) * 1.2 or 1.0
    x_max = max(points[-1][0], 1)

    def xy(n: int, rate: float) -> str:
        return f"{round(PAD + (WIDTH - 2 * PAD) * n / x_max, 1)},{round(HEIGHT - 12 - (HEIGHT - 24) * rate / top, 1)}"

    lines = [{"name": name, "colour": COLOURS[i % 2], "last": rate[-1],
              "points": " ".join(xy(n, r) for (n, _), r in zip(points, rate, strict=True))}
             for i, (name, rate) in enumerate(zip(names, rates, strict=True))]
    return {"width": WIDTH, "height": HEIGHT, "left": PAD, "right": WIDTH - PAD, "lines": lines,
            "top_pct": round(top * 100, 1), "x_max": x_max}
