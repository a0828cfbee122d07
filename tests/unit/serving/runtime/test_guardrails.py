"""Guardrail windows: error rate and p99 over a sliding window, judged only with enough requests."""

from __future__ import annotations

from mloop.config import ServingSettings
from mloop.serving.runtime.guardrails import Limits, Window


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


def test_large_valid_batches_cannot_trip_the_latency_limit() -> None:
    # Was: 20 large valid requests (each slow because it is large) rolled a healthy canary back.
    limits = Limits.resolve(ServingSettings(), {"min_requests": 5, "max_p99_ms": 50, "max_rows": 100})
    w = Window()
    for _ in range(20):
        w.add(1.0, 0.9, error=False, rows=5_000)
    for _ in range(5):
        w.add(1.0, 0.002, error=False, rows=3)
    stats = w.stats(60, now=2, max_rows=limits.max_rows)
    assert (stats.requests, stats.timed, stats.breach(limits)) == (25, 5, None)
    for _ in range(5):
        w.add(1.5, 0.2, error=False, rows=100)  # small requests that are slow: the canary is slow
    assert "p99 latency" in (w.stats(60, now=2, max_rows=limits.max_rows).breach(limits) or "")
