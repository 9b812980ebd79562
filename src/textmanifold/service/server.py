"""Running the app under uvicorn with bounds on slow and numerous clients.

uvicorn bounds idle keep-alive connections but not the time a client takes to send its
request headers: a client that opens a connection and trickles a header line now and
then holds it forever (slowloris). :class:`HeaderTimeoutProtocol` closes a connection
whose request headers are not complete ``header_timeout`` seconds after its first byte
was awaited; the body's time is bounded by
:class:`~textmanifold.service.limits.BodyLimitMiddleware` (408), and the number of open
connections by uvicorn's ``limit_concurrency`` (503 beyond it).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from .limits import HEADER_TIMEOUT_S, MAX_CONNECTIONS

__all__ = ["HeaderTimeoutProtocol", "serve_app"]


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose headers do not arrive in time.

    The clock starts when the connection opens and again after each response (the
    next request on a kept-alive connection), and stops when a request's headers are
    complete.
    """

    header_timeout: float = HEADER_TIMEOUT_S

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()  # no request in flight: nobody to answer

    def data_received(self, data: bytes) -> None:
        scope = self.scope
        super().data_received(data)
        if self.scope is not scope:  # a new request's headers are complete
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection has the same bound

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


def serve_app(
    app,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    header_timeout: float = HEADER_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Run ``app`` under uvicorn (h11) until interrupted, with the bounds above."""
    import uvicorn

    protocol = type(
        "BoundHeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout}
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=protocol,
        limit_concurrency=max_connections,
    )
    uvicorn.Server(config).run()
