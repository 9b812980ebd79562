"""HTTP service of a :class:`~textmanifold.index.ManifoldIndex`: a JSON API and a web page.

``create_app(index)`` returns the FastAPI application; ``textmanifold serve INDEX`` runs it
with uvicorn on 127.0.0.1. Needs the ``serve`` extra (fastapi, uvicorn).
"""

from __future__ import annotations

from .app import create_app, decode_image

__all__ = ["create_app", "decode_image"]
