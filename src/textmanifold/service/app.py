"""The FastAPI application: JSON search API, item images, paths, health, metrics, the page.

:func:`create_app` assembles it: the index, its lock, the metrics and the
:class:`~.dependencies.ServiceSettings` on ``app.state`` (the routes read them through
:mod:`.dependencies`), the routers of :mod:`.routes`, the error handlers, the static
files and the middleware (body limits, API key, metrics).

Only ids of the index reach the file system: an id is looked up in the index's id set
before anything else, and the image file is the one the index recorded for that id, so a
request cannot name a file (``../`` in an id is just an unknown id, answered 404). No
answer names a file of the server: error messages are stripped of the index's, run's and
collection's directories and of any other absolute path (:func:`redact_paths`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import TextManifoldError
from ..index import UnknownIdError
from .auth import MISSING_KEY, ApiKeyMiddleware
from .dependencies import ApiKeyRequired, ServiceSettings, decode_image
from .limits import BODY_TIMEOUT_S, MAX_BODY_BYTES, BodyLimitMiddleware
from .metrics import Metrics, MetricsMiddleware
from .routes import ROUTERS, STATIC

__all__ = ["STATIC", "create_app", "decode_image", "redact_paths"]

log = logging.getLogger(__name__)


# An absolute path of two or more parts not inside a word or a relative path ("../x/y").
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/-])/(?:[^\s/'\"]+/)+[^\s/'\",;:)]*")


def redact_paths(message: str, roots: Iterable[str] = ()) -> str:
    """``message`` with ``roots`` (directories of the server) and absolute paths hidden.

    Each of ``roots`` becomes ``<server path>`` (longest first, so a run inside the index
    directory is hidden whole); any other absolute path of two or more parts as well.
    """
    for root in sorted({r for r in roots if r and r != "/"}, key=len, reverse=True):
        message = message.replace(root, "<server path>")
    return _ABSOLUTE_PATH.sub("<server path>", message)


def _server_roots(index) -> list[str]:
    """The directories whose names an error could carry: index, run, collection."""
    manifest = index.manifest or {}
    places = [index.directory, (manifest.get("model") or {}).get("run"), manifest.get("collection")]
    roots = []
    for place in places:
        if place:
            roots += [str(place), str(Path(place).resolve())]
    return roots


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def _add_error_handlers(app: FastAPI, roots: list[str]) -> None:
    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": redact_paths(message, roots)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error(_validation_message(exc), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error(str(exc.detail), exc.status_code)

    @app.exception_handler(TextManifoldError)
    async def _user(request: Request, exc: TextManifoldError):
        return error(str(exc), 400)

    @app.exception_handler(ApiKeyRequired)
    async def _no_key(request: Request, exc: ApiKeyRequired):
        return JSONResponse(
            {"error": MISSING_KEY}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(UnknownIdError)  # the most specific handler wins
    async def _unknown(request: Request, exc: UnknownIdError):
        return error(str(exc), 404)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):  # logged here, never sent
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)


def create_app(
    index,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_S,
    api_key: str | None = None,
) -> FastAPI:
    """The HTTP service of one index.

    Parameters
    ----------
    index : textmanifold.index.ManifoldIndex
        A built or loaded index; the app only reads it.
    max_body_bytes : int
        Largest request body; larger ones get 413.
    body_timeout : float
        Seconds a client may take to send a body; slower ones get 408.
    api_key : str, optional
        When given, every request but ``GET /healthz`` needs it (:mod:`.auth`): 401
        otherwise.

    The routes take the index through :func:`~.dependencies.get_index`: override it
    (``app.dependency_overrides``) to serve another index with the same application.

    Returns
    -------
    fastapi.FastAPI
        Endpoints: ``POST /search``, ``GET /items/{id}``, ``GET /items/{id}/image``,
        ``GET /path``, ``GET /healthz``, ``GET /metrics``, the page at ``/``; OpenAPI
        documentation at ``/docs``.
    """
    settings = ServiceSettings(
        max_body_bytes=max_body_bytes, body_timeout=body_timeout, api_key=api_key
    )
    metrics = Metrics()
    app = FastAPI(
        title="textmanifold",
        version="1",
        description="Search an image collection on its text-augmented manifold; "
        "each geodesic result comes with the chain of images and "
        "sentences that connects it to the query.",
    )
    app.state.index, app.state.index_lock = index, threading.Lock()
    app.state.metrics, app.state.settings = metrics, settings
    _add_error_handlers(app, _server_roots(index))
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout
    )
    if settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # added last: outermost
    return app
