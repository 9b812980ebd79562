"""The routes of the service, one :class:`fastapi.APIRouter` per area.

- :data:`search_router`: ``POST /search``;
- :data:`items_router`: ``GET /items/{id}/image``, ``GET /items/{id}``, ``GET /path``;
- :data:`health_router`: ``GET /healthz`` (open: no API key), ``GET /metrics``;
- :data:`page_router`: the search page at ``/`` (not in the OpenAPI schema).

Each reaches the index, the metrics and the settings through :mod:`.dependencies`, and
every router but the open health check depends on
:func:`~.dependencies.require_api_key`. :func:`~.app.create_app` includes them in this
order (``/items/{id}/image`` before ``/items/{id}``, whose ``path`` converter would also
match it).
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse

from .dependencies import (
    IndexService,
    get_metrics,
    get_service,
    image_url,
    require_api_key,
)
from .metrics import Metrics
from .schemas import ErrorOut, HealthOut, ItemOut, PathOut, SearchOut, SearchRequest

__all__ = [
    "ERRORS",
    "ROUTERS",
    "STATIC",
    "health_router",
    "items_router",
    "page_router",
    "search_router",
]

STATIC = Path(__file__).parent / "static"
ERRORS = {
    400: {"model": ErrorOut},
    404: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
_GUARDED = [Depends(require_api_key)]

search_router = APIRouter(dependencies=_GUARDED)
items_router = APIRouter(dependencies=_GUARDED)
health_router = APIRouter()
page_router = APIRouter(dependencies=_GUARDED)


@search_router.post("/search", response_model=SearchOut, responses=ERRORS)
def search(request: SearchRequest, service: IndexService = Depends(get_service)) -> Response:
    """Rank the index's images by geodesic and/or Euclidean distance to the query."""
    # serialised here: FastAPI would validate the (already typed) answer once more
    return Response(service.search(request).model_dump_json(), media_type="application/json")


@items_router.get("/items/{item_id:path}/image", responses=ERRORS, response_class=FileResponse)
def item_image(item_id: str, service: IndexService = Depends(get_service)):
    """The image file of an image item (content type from its suffix)."""
    service.known(item_id)
    if service.index.item(item_id).get("kind") != "image":
        raise HTTPException(404, f"item {item_id!r} is a text; it has no image")
    path = Path(service.index.image_path(item_id))
    if not path.is_file():
        raise HTTPException(404, f"the image of {item_id!r} is missing on the server")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media)


@items_router.get("/items/{item_id:path}", response_model=ItemOut, responses=ERRORS)
def item(item_id: str, service: IndexService = Depends(get_service)) -> ItemOut:
    """An item's kind, text and labels, and its image URL."""
    record = service.index.item(service.known(item_id))
    kind = record.get("kind", "image")
    return ItemOut(
        id=item_id,
        kind=kind,
        text=record.get("text"),
        labels=[str(x) for x in record.get("labels") or []],
        image_url=image_url(item_id) if kind == "image" else None,
    )


@items_router.get("/path", response_model=PathOut, responses=ERRORS)
def path(
    source: str = Query(alias="from", min_length=1, max_length=1000),
    target: str = Query(alias="to", min_length=1, max_length=1000),
    service: IndexService = Depends(get_service),
) -> PathOut:
    """The geodesic path between two items of the index."""
    steps = service.path_between(source, target)
    return PathOut(
        source=source, target=target, reachable=bool(steps), steps=[service.step(s) for s in steps]
    )


@health_router.get("/healthz", response_model=HealthOut)
def healthz(service: IndexService = Depends(get_service)) -> HealthOut:
    """Liveness and the index's size."""
    index = service.index
    return HealthOut(
        status="ok",
        n_images=index.n_images,
        n_texts=index.n_texts,
        dimension=index.dim,
        threshold=index.threshold,
        queries=index.query_kinds,
    )


@health_router.get("/metrics", response_class=PlainTextResponse, dependencies=_GUARDED)
def prometheus(metrics: Metrics = Depends(get_metrics)) -> PlainTextResponse:
    """Request counts and latency histograms, Prometheus text format."""
    return PlainTextResponse(
        metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


@cache
def _page_html() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


@page_router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    return HTMLResponse(_page_html())


#: The routers in the order :func:`~.app.create_app` includes them.
ROUTERS = (search_router, items_router, health_router, page_router)
