"""Guardrail windows: error rate and p99 over a sliding window, judged only with enough requests."""

from __future__ import annotations

from mloop.config import ServingSettings
from mloop.serving.guardrails import Limits, Window


def test_window_stats_and_breach() -> None:
    limits = Limits.resolve(ServingSettings(), {"min_requests": 10, "max_p99_ms": 50})
    w = Window()
    for i in range(9):
        w.add(100.0 + i * 0.01, 0.001, error=True)
    assert w.stats(60, now=101).breach(limits) is None  # too few requests to judge
    w.add(100.1, 0.001, error=False)
    stats = w.stats(60, now=101)
    assert (stats.requests, stats.errors) == (10, 9)
    assert "error rate" in (stats.breach(limits) or "")
    assert w.stats(60, now=200).requests == 0  # slid out of the window


def test_latency_breach() -> None:
    limits = Limits.resolve(ServingSettings(), {"min_requests": 5, "max_p99_ms": 50})
    w = Window()
    for _ in range(20):
        w.add(1.0, 0.2, error=False)
    assert "p99 latency" in (w.stats(60, now=2).breach(limits) or "")
