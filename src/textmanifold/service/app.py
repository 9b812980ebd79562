"""The FastAPI application: JSON search API, item images, paths, health, metrics, the page.

Only ids of the index reach the file system: an id is looked up in the index's id set
before anything else, and the image file is the one the index recorded for that id, so a
request cannot name a file (``../`` in an id is just an unknown id, answered 404). No
answer names a file of the server: error messages are stripped of the index's, run's and
collection's directories and of any other absolute path (:func:`redact_paths`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import mimetypes
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import DataFormatError, InputError, TextManifoldError
from ..images import open_rgb
from ..index import UnknownIdError
from .auth import ApiKeyMiddleware
from .limits import BODY_TIMEOUT_S, MAX_BODY_BYTES, BodyLimitMiddleware
from .metrics import Metrics, MetricsMiddleware
from .schemas import (
    ErrorOut,
    HealthOut,
    HitOut,
    ItemOut,
    PathOut,
    SearchOut,
    SearchRequest,
    StepOut,
)

__all__ = ["STATIC", "create_app", "decode_image", "redact_paths"]

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)
ERRORS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut},
          422: {"model": ErrorOut}}


def decode_image(data: str):
    """A PIL image from base64 text (an optional ``data:...;base64,`` prefix is dropped).

    Raises
    ------
    InputError
        The text is not base64, or its bytes are not an image PIL can decode.
    """
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("image: not valid base64") from exc
    try:
        return open_rgb(raw, name="image")
    except DataFormatError as exc:
        raise InputError(str(exc)) from None


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
    places = [index.directory, (manifest.get("model") or {}).get("run"),
              manifest.get("collection")]
    roots = []
    for place in places:
        if place:
            roots += [str(place), str(Path(place).resolve())]
    return roots


def _item_url(item_id: str) -> str:
    return f"/items/{quote(item_id, safe='')}"


def _image_url(item_id: str) -> str:
    return _item_url(item_id) + "/image"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


class _Service:
    """The index behind a lock, and the conversions from its results to JSON records."""

    def __init__(self, index) -> None:
        self.index = index
        self.lock = threading.Lock()  # the index's thread safety is not part of its contract

    def known(self, item_id: str) -> str:
        """``item_id`` if the index holds it, before any file is touched (404 otherwise:
        :class:`~textmanifold.index.UnknownIdError`)."""
        self.index.row(item_id)
        return item_id

    def caption(self, item_id: str) -> str | None:
        return self.index.item(item_id).get("text")

    def step(self, step) -> StepOut:
        return StepOut(id=step.id, kind=step.kind, caption=step.caption, angle=step.angle,
                       image_url=_image_url(step.id) if step.kind == "image" else None)

    def hit(self, hit) -> HitOut:
        return HitOut(rank=hit.rank, id=hit.id,
                      geodesic=hit.geodesic if math.isfinite(hit.geodesic) else None,
                      euclidean=hit.euclidean, reachable=hit.reachable,
                      caption=self.caption(hit.id), image_url=_image_url(hit.id),
                      item_url=_item_url(hit.id),
                      path=None if hit.path is None else [self.step(s) for s in hit.path])

    def search(self, request: SearchRequest) -> SearchOut:
        kwargs = {"k": request.k, "metric": request.metric, "return_paths": request.paths}
        if request.text is not None:
            if not request.text.strip():
                raise InputError("text: the sentence is empty")
            kwargs["text"] = request.text
        elif request.image is not None:
            kwargs["image"] = decode_image(request.image)
        elif request.id is not None:
            kwargs["id"] = self.known(request.id)
        else:
            kwargs["vector"] = request.vector
        if request.modify is not None:
            kwargs["modify"] = request.modify
        with self.lock:
            result = self.index.search(**kwargs)
            query = dict(result.query)
            query.pop("image", None)  # the client has its image; an indexed one's path stays here
            return SearchOut(query=query, k=request.k, metric=request.metric,
                             geodesic=[self.hit(h) for h in result.geodesic],
                             euclidean=[self.hit(h) for h in result.euclidean])


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

    @app.exception_handler(UnknownIdError)  # the most specific handler wins
    async def _unknown(request: Request, exc: UnknownIdError):
        return error(str(exc), 404)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):  # logged here, never sent
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)


def create_app(index, *, max_body_bytes: int = MAX_BODY_BYTES,
               body_timeout: float = BODY_TIMEOUT_S, api_key: str | None = None) -> FastAPI:
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

    Returns
    -------
    fastapi.FastAPI
        Endpoints: ``POST /search``, ``GET /items/{id}``, ``GET /items/{id}/image``,
        ``GET /path``, ``GET /healthz``, ``GET /metrics``, the page at ``/``; OpenAPI
        documentation at ``/docs``.
    """
    service = _Service(index)
    metrics = Metrics()
    app = FastAPI(title="textmanifold", version="1",
                  description="Search an image collection on its text-augmented manifold; "
                              "each geodesic result comes with the chain of images and "
                              "sentences that connects it to the query.")
    app.state.service, app.state.metrics = service, metrics
    _add_error_handlers(app, _server_roots(index))

    @app.post("/search", response_model=SearchOut, responses=ERRORS)
    def search(request: SearchRequest) -> Response:
        """Rank the index's images by geodesic and/or Euclidean distance to the query."""
        # serialised here: FastAPI would validate the (already typed) answer once more
        return Response(service.search(request).model_dump_json(),
                        media_type="application/json")

    @app.get("/items/{item_id:path}/image", responses=ERRORS,
             response_class=FileResponse)
    def item_image(item_id: str):
        """The image file of an image item (content type from its suffix)."""
        service.known(item_id)
        if service.index.item(item_id).get("kind") != "image":
            raise HTTPException(404, f"item {item_id!r} is a text; it has no image")
        path = Path(service.index.image_path(item_id))
        if not path.is_file():
            raise HTTPException(404, f"the image of {item_id!r} is missing on the server")
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media)

    @app.get("/items/{item_id:path}", response_model=ItemOut, responses=ERRORS)
    def item(item_id: str) -> ItemOut:
        """An item's kind, text and labels, and its image URL."""
        record = service.index.item(service.known(item_id))
        kind = record.get("kind", "image")
        return ItemOut(id=item_id, kind=kind, text=record.get("text"),
                       labels=[str(x) for x in record.get("labels") or []],
                       image_url=_image_url(item_id) if kind == "image" else None)

    @app.get("/path", response_model=PathOut, responses=ERRORS)
    def path(source: str = Query(alias="from", min_length=1, max_length=1000),
             target: str = Query(alias="to", min_length=1, max_length=1000)) -> PathOut:
        """The geodesic path between two items of the index."""
        service.known(source), service.known(target)
        with service.lock:
            steps = service.index.path_between(source, target)
        return PathOut(source=source, target=target, reachable=bool(steps),
                       steps=[service.step(s) for s in steps])

    @app.get("/healthz", response_model=HealthOut)
    def healthz() -> HealthOut:
        """Liveness and the index's size."""
        return HealthOut(status="ok", n_images=service.index.n_images,
                         n_texts=service.index.n_texts, dimension=service.index.dim,
                         threshold=service.index.threshold,
                         queries=service.index.query_kinds)

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Request counts and latency histograms, Prometheus text format."""
        return PlainTextResponse(metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    page_html = (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(page_html)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes, timeout=body_timeout)
    if api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # added last: outermost
    return app
