"""An optional API key: every request but ``/healthz`` must carry it.

A script sends ``Authorization: Bearer <key>``. A browser cannot add that header to
``<img src>`` loads, so the page is opened once as ``/?key=<key>`` (as Jupyter's token
links are): the server answers with a redirect that sets an HTTP-only, same-site
cookie holding the key and drops it from the address bar; later requests carry the
cookie. Keys are compared in constant time.

:class:`ApiKeyMiddleware` guards the whole application (the routes, and also the static
files, the OpenAPI documents and unknown paths, which no route dependency reaches); the
routers check the same :func:`request_has_key` again through the dependency
:func:`textmanifold.service.dependencies.require_api_key`, so a router included in
another application stays guarded.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

from ..errors import InputError

__all__ = [
    "API_KEY_ENV",
    "COOKIE",
    "MISSING_KEY",
    "OPEN_PATHS",
    "ApiKeyMiddleware",
    "api_key_from_env",
    "check_api_key",
    "request_has_key",
]

#: The environment variable ``textmanifold serve`` reads the key from (instead of
#: ``--api-key``, which other users of the machine can see in the process list).
API_KEY_ENV = "TEXTMANIFOLD_API_KEY"
COOKIE = "textmanifold_key"
OPEN_PATHS = frozenset({"/healthz"})
#: The error of a 401 answer.
MISSING_KEY = (
    "this server needs its API key: send 'Authorization: Bearer <key>', or open "
    "the page once as /?key=<key>"
)


def check_api_key(key: str) -> str:
    """A key of at least 16 URL- and cookie-safe characters (letters, digits, ``._~-``)."""
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9._~-]{16,}", key):
        raise InputError(
            "the API key must be at least 16 characters of letters, digits "
            "and . _ ~ - (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(24))')"
        )
    return key


def api_key_from_env() -> str | None:
    """The key in :data:`API_KEY_ENV`, or None when it is unset or empty."""
    return os.environ.get(API_KEY_ENV) or None


def _matches(key: bytes, value: str | None) -> bool:
    return value is not None and hmac.compare_digest(value.encode("utf-8"), key)


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}


def request_has_key(key: bytes, scope) -> bool:
    """Whether the request of an ASGI ``scope`` carries ``key`` in its ``Authorization``
    header (``Bearer <key>``) or its cookie :data:`COOKIE`, compared in constant time; a
    malformed cookie header is no cookie."""
    headers = _headers(scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is just no cookie
        cookies = SimpleCookie()
    cookie = cookies[COOKIE].value if COOKIE in cookies else None
    return (scheme.lower() == "bearer" and _matches(key, token)) or _matches(key, cookie)


class ApiKeyMiddleware:
    """ASGI middleware answering 401 (JSON) to any request without the key.

    Parameters
    ----------
    app : ASGI application
    api_key : str
    """

    def __init__(self, app, api_key: str) -> None:
        self.app = app
        self.key = check_api_key(api_key).encode("utf-8")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if request_has_key(self.key, scope):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = [v for k, v in query if k == "key"]
        if scope["method"] == "GET" and given and _matches(self.key, given[-1]):
            rest = urlencode([(k, v) for k, v in query if k != "key"])
            await _redirect_setting_cookie(
                send, quote(scope["path"]) + (f"?{rest}" if rest else ""), given[-1]
            )
            return
        body = json.dumps({"error": MISSING_KEY}).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _redirect_setting_cookie(send, location: str, key: str) -> None:
    cookie = f"{COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
