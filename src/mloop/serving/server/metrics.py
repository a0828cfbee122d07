"""Prometheus metrics of a model server: requests, errors and latency per variant.

With several workers, set up by `mloop serve --workers N`, the metrics live in
PROMETHEUS_MULTIPROC_DIR and `/metrics` aggregates every worker's.

A request only adds to plain in-process tallies (a lock, two additions and a bisect); the
tallies reach the prometheus_client metrics when `/metrics` is rendered and, with several
workers, every second from a background thread, so a scrape sees other workers' requests at
most a second late. Updating prometheus_client's (file-backed, multi-process) values on every
request cost ~15 us of a ~130 us request.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

FLUSH_SECONDS = 1.0

LATENCY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """The metric families of one server process."""

    def __init__(self, endpoint: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.endpoint = endpoint
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["endpoint", "variant", "model", "version"]
        self.requests = Counter("mloop_requests", "Prediction requests by status code.",
                                [*labels, "code"], registry=self.registry)
        self.errors = Counter("mloop_request_errors", "Failed prediction requests (kind: client|model).",
                              [*labels, "kind"], registry=self.registry)
        self.latency = Histogram("mloop_request_latency_seconds", "Prediction latency.", labels,
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.generation = Gauge("mloop_endpoint_generation", "Configuration generation being served.",
                                ["endpoint"], registry=self.registry, multiprocess_mode="max")
        self.weight = Gauge("mloop_variant_weight", "Traffic weight of each variant.", labels,
                            registry=self.registry, multiprocess_mode="max")
        self.input_issues = Counter("mloop_input_issues", "Input values the model never saw, by feature and "
                                    "issue (missing, unknown_category, out_of_range, wrong_kind, few_features).",
                                    [*labels, "feature", "issue"], registry=self.registry)
        self.shadow_predictions = Counter(
            "mloop_shadow_requests", "Request copies a shadow variant predicted (outcome: ok|error).",
            ["endpoint", "variant", "model", "version", "outcome"], registry=self.registry)
        self.shadow_dropped = Counter("mloop_shadow_dropped", "Request copies dropped because the shadow "
                                      "queue was full (the caller was answered either way).",
                                      ["endpoint", "variant"], registry=self.registry)
        self._children: dict[tuple[Any, ...], Any] = {}
        self._pending_inputs: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str, int], list[Any]] = {}
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            threading.Thread(target=self._flush_loop, name="mloop-metrics", daemon=True).start()
            atexit.register(self.flush)  # a stopping worker's last second still counts

    def observe(self, variant: str, model: str, version: str, code: int, latency_s: float) -> None:
        """Record one request (runs on every request: tallies only, see `flush`)."""
        key = (variant, model, version, code)
        with self._lock:
            tally = self._pending.get(key)
            if tally is None:
                tally = self._pending[key] = [0, 0.0, [0] * (len(LATENCY_BUCKETS) + 1)]
            tally[0] += 1
            tally[1] += latency_s
            tally[2][bisect_left(LATENCY_BUCKETS, latency_s)] += 1  # prometheus: le is inclusive

    def observe_inputs(self, variant: str, model: str, version: str, counts: Mapping[tuple[str, str], int]) -> None:
        """Record the input findings of one request: how many per (feature, issue)."""
        with self._lock:
            pending = self._pending_inputs
            for (feature, issue), n in counts.items():
                key = (variant, model, version, feature, issue)
                pending[key] = pending.get(key, 0) + n

    def observe_shadows(self, rows: list[dict[str, Any]], drops: Mapping[str, int]) -> None:
        """Count a batch of prediction log rows (its shadow requests) and the copies dropped."""
        seen: dict[tuple[str, str, str, str], int] = {}
        for row in rows:
            if row["shadow"] and row["row"] == 0:
                key = (row["variant"], row["model_name"], str(row["model_version"]),
                       "error" if row["error"] else "ok")
                seen[key] = seen.get(key, 0) + 1
        for (variant, model, version, outcome), n in seen.items():
            self.shadow_predictions.labels(self.endpoint, variant, model, version, outcome).inc(n)
        for variant, n in drops.items():
            self.shadow_dropped.labels(self.endpoint, variant).inc(n)

    def flush(self) -> None:
        """Move the tallies into the prometheus_client metrics."""
        with self._lock:
            pending, self._pending = self._pending, {}
            inputs, self._pending_inputs = self._pending_inputs, {}
        for (variant, model, version, feature, issue), n in inputs.items():
            self.input_issues.labels(self.endpoint, variant, model, version, feature, issue).inc(n)
        for key, (count, total, buckets) in pending.items():
            requests, latency, errors = self._children_of(key)
            requests.inc(count)
            if errors is not None:
                errors.inc(count)
            latency._sum.inc(total)  # Histogram.observe, `count` times at once
            for i, n in enumerate(buckets):
                if n:
                    latency._buckets[i].inc(n)

    def _children_of(self, key: tuple[str, str, str, int]) -> tuple[Any, Any, Any]:
        children = self._children.get(key)
        if children is None:
            variant, model, version, code = key
            base = (self.endpoint, variant, model, version)
            kind = "model" if code >= 500 else "client" if code >= 400 else None
            children = (self.requests.labels(*base, str(code)), self.latency.labels(*base),
                        self.errors.labels(*base, kind) if kind else None)
            self._children[key] = children
        return children

    def _flush_loop(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def render(self) -> tuple[bytes, str]:
        """The exposition text (all workers' when running multi-process)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        self.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
