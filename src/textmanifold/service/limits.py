"""Bounds on what a client may send: body size, ``k``, sentence and vector length.

The body limit is enforced before any endpoint runs, both from ``Content-Length`` and by
counting the bytes actually received (a chunked body has no length header).
"""

from __future__ import annotations

import json

__all__ = ["MAX_BODY_BYTES", "MAX_IMAGE_PIXELS", "MAX_K", "MAX_TEXT_CHARS", "MAX_VECTOR_DIM",
           "BodyLimitMiddleware"]

#: Largest request body, bytes: a base64 image of about 7.5 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Largest decoded image, pixels (a small PNG can decode to a huge image).
MAX_IMAGE_PIXELS = 40_000_000
#: Largest number of results one search may ask for.
MAX_K = 100
#: Longest query sentence or modification text, characters.
MAX_TEXT_CHARS = 2000
#: Longest query vector.
MAX_VECTOR_DIM = 8192


async def _json_error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii"))]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """ASGI middleware answering 413 with a JSON error when a body exceeds ``max_bytes``.

    The body is read here (at most ``max_bytes`` + one chunk) and replayed to the app.

    Parameters
    ----------
    app : ASGI application
    max_bytes : int
    """

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = f"request body larger than {self.max_bytes} bytes"
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _json_error(send, 400, "invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
                await _json_error(send, 413, too_large)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _json_error(send, 413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
