"""A small Python client for ``textmanifold serve`` (standard library only).

Example
-------
>>> from textmanifold.client import Client
>>> client = Client("http://127.0.0.1:8000")          # doctest: +SKIP
>>> result = client.search(text="a red circle", k=5)  # doctest: +SKIP
>>> [hit["id"] for hit in result["geodesic"]]          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from .errors import TextManifoldError

__all__ = ["Client", "ServiceError"]


class ServiceError(TextManifoldError):
    """The server answered with an error; ``status`` is the HTTP status.

    Parameters
    ----------
    status : int
    message : str
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Client:
    """Talk to a running ``textmanifold serve``.

    Parameters
    ----------
    url : str
        Base URL of the server, e.g. ``http://127.0.0.1:8000``.
    timeout : float
        Seconds to wait for each answer.
    api_key : str, optional
        The server's API key (``serve --api-key``), sent as a bearer token.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if api_key is not None:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def _request(self, method: str, path: str, body: dict | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=self.headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except (ValueError, AttributeError):
                message = exc.reason
            raise ServiceError(exc.code, str(message)) from None
        except urllib.error.URLError as exc:
            raise ServiceError(0, f"cannot reach {self.url}: {exc.reason}") from None

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        return json.loads(self._request(method, path, body))

    def search(
        self,
        *,
        text: str | None = None,
        image: str | Path | bytes | None = None,
        id: str | None = None,
        vector=None,
        modify: str | None = None,
        k: int = 10,
        metric: str = "both",
        paths: bool = True,
    ) -> dict:
        """Search the server's index; the answer of ``POST /search`` as a dict.

        Parameters
        ----------
        text, image, id, vector
            Exactly one query: a sentence, an image (a file path or its bytes), an item
            id, or a vector (any sequence of floats).
        modify : str, optional
            Modification sentence for composed retrieval (with ``image`` or ``id``).
        k : int
            Results per ranking.
        metric : {"geodesic", "euclidean", "both"}
        paths : bool
            Ask for each geodesic result's path.

        Returns
        -------
        dict
            ``{"query", "k", "metric", "geodesic": [hit...], "euclidean": [hit...]}``;
            a hit has ``rank, id, geodesic, euclidean, reachable, caption, image_url,
            path``.

        Raises
        ------
        ServiceError
            The server refused the query (its one-line message) or cannot be reached.
        """
        body: dict = {"k": k, "metric": metric, "paths": paths}
        if text is not None:
            body["text"] = text
        if image is not None:
            raw = image if isinstance(image, bytes) else Path(image).read_bytes()
            body["image"] = base64.b64encode(raw).decode("ascii")
        if id is not None:
            body["id"] = id
        if vector is not None:
            body["vector"] = [float(x) for x in vector]
        if modify is not None:
            body["modify"] = modify
        return self._json("POST", "/search", body)

    def item(self, id: str) -> dict:
        """``GET /items/{id}``: kind, text, labels, image URL."""
        return self._json("GET", f"/items/{quote(id, safe='')}")

    def image(self, id: str) -> bytes:
        """``GET /items/{id}/image``: the image file's bytes."""
        return self._request("GET", f"/items/{quote(id, safe='')}/image")

    def path(self, source: str, target: str) -> dict:
        """``GET /path``: the geodesic path between two items."""
        return self._json("GET", "/path?" + urlencode({"from": source, "to": target}))

    def health(self) -> dict:
        """``GET /healthz``."""
        return self._json("GET", "/healthz")

    def wait_until_ready(
        self,
        timeout: float = 60.0,
        *,
        interval: float = 0.2,
        give_up: Callable[[], bool] | None = None,
    ) -> dict:
        """Poll ``/healthz`` until the server answers; its answer.

        Parameters
        ----------
        timeout : float
            Seconds to keep trying.
        interval : float
            Seconds between tries.
        give_up : callable, optional
            Checked between tries; True stops waiting (e.g. the server process exited).

        Raises
        ------
        ServiceError
            No answer within ``timeout``, or ``give_up()`` said so.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.health()
            except ServiceError as exc:
                if exc.status != 0:
                    raise
                if (give_up is not None and give_up()) or time.monotonic() > deadline:
                    raise ServiceError(0, f"{self.url} is not answering") from None
            time.sleep(interval)
