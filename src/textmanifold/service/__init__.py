"""HTTP service of a :class:`~textmanifold.index.ManifoldIndex`: a JSON API and a web page.

``create_app(index)`` returns the FastAPI application; ``textmanifold serve INDEX`` runs it
with uvicorn on 127.0.0.1 (:mod:`.server`: bounded header and body times, connection
count), optionally behind an API key (:mod:`.auth`). Needs the ``serve`` extra (fastapi,
uvicorn). The application is imported on first use, so that the command line can read
the service's limits (:mod:`.limits`) without importing FastAPI.
"""

from __future__ import annotations

__all__ = ["create_app", "decode_image"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
