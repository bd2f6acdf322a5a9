"""Prometheus text exposition of what the server does, without extra packages.

Counts requests by route template and status, request latency and synthesis
real-time factor as histograms, audio produced, and (read at scrape time)
queue depth, running syntheses and batch jobs by state. Thread-safe: the
synthesis threads and the event loop both record here. ``MetricsMiddleware``
records every HTTP request, including those refused before routing.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> list[str]:
        out, cumulative = [], 0
        sep = "," if labels else ""
        for bound, count in zip(self.buckets, self.counts, strict=True):
            cumulative += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound:g}"}} {cumulative}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {self.sum:.6f}")
        out.append(f"{name}_count{braces} {self.total}")
        return out


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._latency: dict[str, Histogram] = {}
        self._rtf = Histogram(RTF_BUCKETS)
        self._first_chunk = Histogram(LATENCY_BUCKETS)
        self._audio_seconds = 0.0
        self._rejected_busy = 0
        self._gauges: dict[str, tuple[str, Callable[[], dict[str, float]]]] = {}

    def record_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(route, method, status)] += 1
            self._latency.setdefault(route, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def record_synthesis(
        self, *, audio_s: float, total_s: float, first_chunk_s: float | None
    ) -> None:
        with self._lock:
            self._audio_seconds += audio_s
            if audio_s > 0:
                self._rtf.observe(total_s / audio_s)
            if first_chunk_s is not None:
                self._first_chunk.observe(first_chunk_s)

    def record_busy(self) -> None:
        with self._lock:
            self._rejected_busy += 1

    def gauge(self, name: str, help_text: str, read: Callable[[], dict[str, float]]) -> None:
        """Register a gauge read at scrape time; ``read`` maps a label string ('' or 'k="v"') to a value."""
        self._gauges[name] = (help_text, read)

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP natiq_requests_total HTTP and WebSocket requests by route template, method and status.",
                "# TYPE natiq_requests_total counter",
            ]
            for (route, method, status), count in sorted(self._requests.items()):
                lines.append(
                    f'natiq_requests_total{{route="{_label(route)}",method="{method}",status="{status}"}} {count}'
                )
            lines += [
                "# HELP natiq_request_duration_seconds Time from request to the end of the response.",
                "# TYPE natiq_request_duration_seconds histogram",
            ]
            for route, histogram in sorted(self._latency.items()):
                lines += histogram.lines(
                    "natiq_request_duration_seconds", f'route="{_label(route)}"'
                )
            lines += [
                "# HELP natiq_synthesis_rtf Real-time factor: synthesis seconds per second of audio (below 1 is faster than real time).",
                "# TYPE natiq_synthesis_rtf histogram",
                *self._rtf.lines("natiq_synthesis_rtf", ""),
                "# HELP natiq_first_chunk_seconds Time until the first audio chunk of a synthesis.",
                "# TYPE natiq_first_chunk_seconds histogram",
                *self._first_chunk.lines("natiq_first_chunk_seconds", ""),
                "# HELP natiq_audio_seconds_total Seconds of audio produced.",
                "# TYPE natiq_audio_seconds_total counter",
                f"natiq_audio_seconds_total {self._audio_seconds:.3f}",
                "# HELP natiq_rejected_busy_total Requests answered 429 because the queue was full.",
                "# TYPE natiq_rejected_busy_total counter",
                f"natiq_rejected_busy_total {self._rejected_busy}",
            ]
        for name, (help_text, read) in sorted(self._gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in sorted(read().items()):
                braces = f"{{{labels}}}" if labels else ""
                lines.append(f"{name}{braces} {value:g}")
        return "\n".join(lines) + "\n"


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
