"""What the routes depend on, as FastAPI dependencies (``Depends``).

:func:`~textmanifold.service.app.create_app` keeps the index, its lock, the metrics and
the :class:`ServiceSettings` (limits and API key) on ``app.state``; the routes reach them
only through the functions here, so a test (or another application) swaps any of them
with ``app.dependency_overrides``, e.g. ``app.dependency_overrides[get_index] = lambda:
small_index``. The dependencies are ``async``: they only read attributes, and FastAPI
runs an async dependency on the event loop instead of a worker thread.

:class:`IndexService` is the index behind its lock, with the conversions from its results
to the JSON records of :mod:`.schemas`. Only ids of the index reach the file system: an
id is looked up in the index's id set before anything else (:meth:`IndexService.known`).
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request

from ..errors import DataFormatError, InputError
from ..images import open_rgb
from .auth import check_api_key, request_has_key
from .limits import BODY_TIMEOUT_S, MAX_BODY_BYTES
from .metrics import Metrics
from .schemas import HitOut, SearchOut, SearchRequest, StepOut

__all__ = [
    "ApiKeyRequired",
    "IndexService",
    "ServiceSettings",
    "decode_image",
    "get_index",
    "get_index_lock",
    "get_metrics",
    "get_service",
    "get_settings",
    "image_url",
    "item_url",
    "require_api_key",
]


@dataclass(frozen=True)
class ServiceSettings:
    """The limits and the optional API key of one application.

    ``max_body_bytes`` (413 beyond) and ``body_timeout`` (seconds to send a body, 408
    beyond) are enforced before any route by :class:`~.limits.BodyLimitMiddleware`;
    ``api_key`` (when set, every request but ``GET /healthz`` needs it) by
    :class:`~.auth.ApiKeyMiddleware` and again by :func:`require_api_key`.
    """

    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = BODY_TIMEOUT_S
    api_key: str | None = None

    def __post_init__(self) -> None:
        if self.api_key is not None:
            check_api_key(self.api_key)


class ApiKeyRequired(Exception):
    """Raised by :func:`require_api_key`; the application answers 401 as the middleware
    does (:data:`~.auth.MISSING_KEY`, ``WWW-Authenticate: Bearer``)."""


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


def item_url(item_id: str) -> str:
    return f"/items/{quote(item_id, safe='')}"


def image_url(item_id: str) -> str:
    return item_url(item_id) + "/image"


class IndexService:
    """An index behind a lock, and the conversions from its results to JSON records.

    Parameters
    ----------
    index : textmanifold.index.ManifoldIndex
    lock : threading.Lock
        Held around every search (the index's thread safety is not part of its contract).
    """

    def __init__(self, index, lock: threading.Lock) -> None:
        self.index = index
        self.lock = lock

    def known(self, item_id: str) -> str:
        """``item_id`` if the index holds it, before any file is touched (404 otherwise:
        :class:`~textmanifold.index.UnknownIdError`)."""
        self.index.row(item_id)
        return item_id

    def caption(self, item_id: str) -> str | None:
        return self.index.item(item_id).get("text")

    def step(self, step) -> StepOut:
        return StepOut(
            id=step.id,
            kind=step.kind,
            caption=step.caption,
            angle=step.angle,
            image_url=image_url(step.id) if step.kind == "image" else None,
        )

    def hit(self, hit) -> HitOut:
        return HitOut(
            rank=hit.rank,
            id=hit.id,
            geodesic=hit.geodesic if math.isfinite(hit.geodesic) else None,
            euclidean=hit.euclidean,
            reachable=hit.reachable,
            caption=self.caption(hit.id),
            image_url=image_url(hit.id),
            item_url=item_url(hit.id),
            path=None if hit.path is None else [self.step(s) for s in hit.path],
        )

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
            return SearchOut(
                query=query,
                k=request.k,
                metric=request.metric,
                geodesic=[self.hit(h) for h in result.geodesic],
                euclidean=[self.hit(h) for h in result.euclidean],
            )

    def path_between(self, source: str, target: str) -> list:
        """The geodesic path's steps between two known items (empty: none exists)."""
        self.known(source), self.known(target)
        with self.lock:
            return self.index.path_between(source, target)


async def get_index(request: Request):
    """The index the application serves."""
    return request.app.state.index


async def get_index_lock(request: Request) -> threading.Lock:
    """The lock every search of the application's index holds."""
    return request.app.state.index_lock


async def get_service(
    index=Depends(get_index), lock: threading.Lock = Depends(get_index_lock)
) -> IndexService:
    """The index behind its lock (an :class:`IndexService` per request: two attributes)."""
    return IndexService(index, lock)


async def get_metrics(request: Request) -> Metrics:
    """The application's request counters."""
    return request.app.state.metrics


async def get_settings(request: Request) -> ServiceSettings:
    """The application's limits and API key."""
    return request.app.state.settings


async def require_api_key(
    request: Request, settings: ServiceSettings = Depends(get_settings)
) -> None:
    """Refuse (:class:`ApiKeyRequired`, 401) a request without the API key, when the
    application has one (the same check as :class:`~.auth.ApiKeyMiddleware`)."""
    if settings.api_key is not None and not request_has_key(
        settings.api_key.encode("utf-8"), request.scope
    ):
        raise ApiKeyRequired()
