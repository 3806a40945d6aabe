"""Prometheus metrics for one app: requests, errors by status, latency, batch sizes, images/s.

Each app gets its own registry (several apps in one process, as in the tests, do not
collide). A pure ASGI middleware times every request; the batcher reports batch sizes.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

ROUTES = (
    "/",
    "/v1/ocr",
    "/v1/models",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/favicon.ico",
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RATE_WINDOW_S = 10.0

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsMiddleware"]


class _RateWindow:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self.events: collections.deque[tuple[float, int]] = collections.deque()
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.events.append((time.monotonic(), n))

    def rate(self) -> float:
        cutoff = time.monotonic() - self.window
        with self.lock:
            while self.events and self.events[0][0] < cutoff:
                self.events.popleft()
            return sum(n for _, n in self.events) / self.window


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "lineocr_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.errors = Counter(
            "lineocr_http_errors", "HTTP error responses by status code", ["status"], registry=r
        )
        self.latency = Histogram(
            "lineocr_http_request_duration_seconds",
            "Request latency",
            ["route"],
            registry=r,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.in_flight = Gauge(
            "lineocr_http_in_flight_requests", "Requests being answered", registry=r
        )
        self.batch_size = Histogram(
            "lineocr_batch_size",
            "Images per ONNX batch",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.inference = Histogram(
            "lineocr_batch_inference_seconds",
            "Time to run one batch",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.images = Counter(
            "lineocr_images",
            "Images processed, by model and outcome",
            ["model", "outcome"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "lineocr_batch_queue_depth", "Images waiting for a batch", registry=r
        )
        self.models_loaded = Gauge("lineocr_models_loaded", "Models loaded", registry=r)
        self._rate = _RateWindow()
        images_per_s = Gauge(
            "lineocr_images_per_second",
            f"Images read per second over the last {RATE_WINDOW_S:g} s",
            registry=r,
        )
        images_per_s.set_function(self._rate.rate)
        self.pixels_in_flight = Gauge(
            "lineocr_pixels_in_flight",
            "Decoded pixels the requests being served hold (max_pixels_in_flight bounds it)",
            registry=r,
        )
        self.requests_waiting_for_pixels = Gauge(
            "lineocr_requests_waiting_for_pixels",
            "Requests waiting for room under max_pixels_in_flight",
            registry=r,
        )

    def watch_pixels(self, held: Callable[[], float], waiting: Callable[[], float]) -> None:
        """Read the pixel budget's state at each scrape."""
        self.pixels_in_flight.set_function(held)
        self.requests_waiting_for_pixels.set_function(waiting)

    def record_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.inference.observe(seconds)

    def record_images(self, model: str, outcome: str, n: int = 1) -> None:
        self.images.labels(model=model, outcome=outcome).inc(n)
        if outcome == "ok":
            self._rate.add(n)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    if path.startswith("/static/"):
        return "/static"
    return "other"  # bounded label values, whatever clients ask for


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI: it never buffers bodies)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(scope.get("path", ""))
        method = scope.get("method", "")
        method = method if method in METHODS else "other"
        status = {"code": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        start = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            code = status["code"]
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - start)
            self.metrics.requests.labels(method=method, route=route, status=str(code)).inc()
            if code >= 400:
                self.metrics.errors.labels(status=str(code)).inc()
