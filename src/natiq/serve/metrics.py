"""What the server does, as Prometheus metrics (``prometheus_client``).

Counts requests by route template and status, request latency and synthesis
real-time factor as histograms, audio produced, refusals, and (read at scrape
time) queue depth, running syntheses, batch jobs by state and the batch
worker's health. Each application has its own registry, so several servers
(or tests) in one process do not share counts. ``MetricsMiddleware`` records
every HTTP request, including those refused before routing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _LabelledGauge(Collector):
    """A gauge whose labelled values are read from a function at scrape time."""

    def __init__(self, name: str, help_text: str, label: str, read: Callable[[], dict]) -> None:
        self.name, self.help_text, self.label, self.read = name, help_text, label, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.help_text, labels=[self.label])
        for value, count in sorted(self.read().items()):
            family.add_metric([value], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "natiq_requests",
            "HTTP, WebSocket and Wyoming requests by route template (wyoming), method (Wyoming event) and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "natiq_request_duration_seconds",
            "Time from request to the end of the response.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rtf = Histogram(
            "natiq_synthesis_rtf",
            "Real-time factor: synthesis seconds per second of audio (below 1 is faster than real time).",
            buckets=RTF_BUCKETS,
            registry=r,
        )
        self.first_chunk = Histogram(
            "natiq_first_chunk_seconds",
            "Time until the first audio chunk of a synthesis.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_seconds = Counter(
            "natiq_audio_seconds", "Seconds of audio produced.", registry=r
        )
        self.rejected_busy = Counter(
            "natiq_rejected_busy", "Requests answered 429 because the queue was full.", registry=r
        )
        self.cancelled = Counter(
            "natiq_cancelled_syntheses",
            "Syntheses stopped before the end (client gone, batch job deleted, shutdown).",
            registry=r,
        )
        self.preempted = Counter(
            "natiq_batch_preemptions",
            "Batch chunks set aside so that an interactive request could run first.",
            registry=r,
        )

    def record_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def record_synthesis(
        self, *, audio_s: float, total_s: float, first_chunk_s: float | None
    ) -> None:
        self.audio_seconds.inc(audio_s)
        if audio_s > 0:
            self.rtf.observe(total_s / audio_s)
        if first_chunk_s is not None:
            self.first_chunk.observe(first_chunk_s)

    def record_busy(self) -> None:
        self.rejected_busy.inc()

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a gauge read at scrape time."""
        Gauge(name, help_text, registry=self.registry).set_function(read)

    def labelled_gauge(
        self, name: str, help_text: str, label: str, read: Callable[[], dict[str, float]]
    ) -> None:
        """Register a gauge with one label, read at scrape time as ``{label value: value}``."""
        self.registry.register(_LabelledGauge(name, help_text, label, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP request by its route template and records its latency.

    Requests refused before routing (401, 413) are labelled by the route they
    were aimed at, found by matching the path; unknown paths share one label.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, router: Any) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return route.path
        for candidate in self.router.routes:
            match, _ = candidate.matches(scope)
            if match != Match.NONE:
                return getattr(candidate, "path", "unmatched") or "unmatched"
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.record_request(
                self._template(scope), scope["method"], status, time.perf_counter() - start
            )
