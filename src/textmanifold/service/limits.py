"""Bounds on what a client may send: body size and time, ``k``, sentence and vector length.

The body limit is enforced before any endpoint runs, both from ``Content-Length`` and by
counting the bytes actually received (a chunked body has no length header); so is the
time a client may take to send its body (a slow or stalled client gets 408). The time to
send the request headers and the number of open connections are bounded in the server
itself (:mod:`.server`).
"""

from __future__ import annotations

import asyncio
import json
import time

from ..images import MAX_IMAGE_PIXELS  # the one pixel bound, shared with the CLI

__all__ = [
    "BODY_TIMEOUT_S",
    "HEADER_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_CONNECTIONS",
    "MAX_IMAGE_PIXELS",
    "MAX_K",
    "MAX_TEXT_CHARS",
    "MAX_VECTOR_DIM",
    "BodyLimitMiddleware",
]

#: Largest request body, bytes: a base64 image of about 7.5 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Seconds a client may take to send a request's headers (then the connection is closed).
HEADER_TIMEOUT_S = 10.0
#: Seconds a client may take to send a request's body (then 408).
BODY_TIMEOUT_S = 30.0
#: Open connections the server holds at once; beyond them requests get 503.
MAX_CONNECTIONS = 64
#: Largest number of results one search may ask for.
MAX_K = 100
#: Longest query sentence or modification text, characters.
MAX_TEXT_CHARS = 2000
#: Longest query vector.
MAX_VECTOR_DIM = 8192


async def _json_error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """ASGI middleware bounding a request body's size (413) and the time to receive it (408).

    The body is read here (at most ``max_bytes`` + one chunk, within ``timeout``
    seconds from the first byte asked for) and replayed to the app.

    Parameters
    ----------
    app : ASGI application
    max_bytes : int
    timeout : float
        Seconds for the whole body.
    """

    def __init__(
        self, app, max_bytes: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT_S
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        refusal = self._declared_refusal(dict(scope.get("headers") or []))
        if refusal is not None:
            await _json_error(send, *refusal)
            return
        body = await self._read_body(receive, send)
        if body is None:  # refused (413, 408) or the client disconnected
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    def _declared_refusal(self, headers: dict) -> tuple[int, str] | None:
        """``(status, message)`` for a bad or too large Content-Length, else None."""
        declared = headers.get(b"content-length")
        if declared is None:
            return None
        if not declared.isdigit():
            return 400, "invalid Content-Length header"
        if int(declared) > self.max_bytes:
            return 413, self._too_large()
        return None

    async def _read_body(self, receive, send) -> bytes | None:
        """The whole body within the limits, or None once refused or disconnected."""
        chunks, size, more = [], 0, True
        deadline = time.monotonic() + self.timeout
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await _json_error(send, 408, f"request body not received within {self.timeout:g} s")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _json_error(send, 413, self._too_large())
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)
