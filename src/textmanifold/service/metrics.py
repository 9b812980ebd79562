"""Request counts and a latency histogram, written in Prometheus' text exposition format.

Hand-written rather than ``prometheus_client`` (one dependency less, and the service needs
two metric families). Labels are the route *template* (``/items/{item_id:path}``), never
the raw path, so a client cannot grow the label set without bound.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict

__all__ = ["BUCKETS", "CLIENT_CLOSED", "Metrics", "MetricsMiddleware"]

#: The status recorded for a request whose client disconnected before any answer (nginx's
#: 499 "client closed request": not a server error).
CLIENT_CLOSED = 499
#: Upper bounds of the latency histogram, seconds (``+Inf`` is implied).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """Thread-safe counters: requests by (method, route, status), latency by route.

    Parameters
    ----------
    prefix : str
        Prefix of every metric name.
    """

    def __init__(self, prefix: str = "textmanifold") -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            counts = self._buckets.setdefault(route, [0] * len(BUCKETS))
            first = bisect.bisect_left(BUCKETS, seconds)
            for i in range(first, len(BUCKETS)):  # Prometheus buckets are cumulative
                counts[i] += 1
            self._sum[route] += seconds
            self._count[route] += 1

    def render(self) -> str:
        """The exposition text (``text/plain; version=0.0.4``)."""
        p = self.prefix
        lines = [
            f"# HELP {p}_http_requests_total HTTP requests answered.",
            f"# TYPE {p}_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(
                    f"{p}_http_requests_total"
                    f"{_labels(method=method, route=route, status=status)} {n}"
                )
            lines += [
                f"# HELP {p}_http_request_duration_seconds Time to answer a request.",
                f"# TYPE {p}_http_request_duration_seconds histogram",
            ]
            name = f"{p}_http_request_duration_seconds"
            for route in sorted(self._buckets):
                for bound, n in zip(BUCKETS, self._buckets[route], strict=True):
                    lines.append(f"{name}_bucket{_labels(route=route, le=repr(bound))} {n}")
                total = self._count[route]
                lines.append(f"{name}_bucket{_labels(route=route, le='+Inf')} {total}")
                lines.append(f"{name}_sum{_labels(route=route)} {self._sum[route]!r}")
                lines.append(f"{name}_count{_labels(route=route)} {total}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """ASGI middleware: time every HTTP request and record it in a :class:`Metrics`.

    Parameters
    ----------
    app : ASGI application
    metrics : Metrics
    """

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = None

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = status or 500  # the app failed before it answered
            raise
        finally:
            if status is None:  # no answer and no failure: the client went away first
                status = CLIENT_CLOSED
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            if template is None:  # static files, or refused before routing (413)
                template = "/static" if scope["path"].startswith("/static/") else "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
