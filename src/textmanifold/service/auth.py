"""An optional API key: every request but ``/healthz`` must carry it.

A script sends ``Authorization: Bearer <key>``. A browser cannot add that header to
``<img src>`` loads, so the page is opened once as ``/?key=<key>`` (as Jupyter's token
links are): the server answers with a redirect that sets an HTTP-only, same-site
cookie holding the key and drops it from the address bar; later requests carry the
cookie. Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

from ..errors import InputError

__all__ = ["API_KEY_ENV", "COOKIE", "ApiKeyMiddleware", "api_key_from_env", "check_api_key"]

#: The environment variable ``textmanifold serve`` reads the key from (instead of
#: ``--api-key``, which other users of the machine can see in the process list).
API_KEY_ENV = "TEXTMANIFOLD_API_KEY"
COOKIE = "textmanifold_key"
OPEN_PATHS = frozenset({"/healthz"})


def check_api_key(key: str) -> str:
    """A key of at least 16 URL- and cookie-safe characters (letters, digits, ``._~-``)."""
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9._~-]{16,}", key):
        raise InputError("the API key must be at least 16 characters of letters, digits "
                         "and . _ ~ - (e.g. python -c 'import secrets; "
                         "print(secrets.token_urlsafe(24))')")
    return key


def api_key_from_env() -> str | None:
    """The key in :data:`API_KEY_ENV`, or None when it is unset or empty."""
    return os.environ.get(API_KEY_ENV) or None


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

    def _matches(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode("utf-8"), self.key)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is just no cookie
            cookies = SimpleCookie()
        cookie = cookies[COOKIE].value if COOKIE in cookies else None
        if (scheme.lower() == "bearer" and self._matches(token)) or self._matches(cookie):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = [v for k, v in query if k == "key"]
        if scope["method"] == "GET" and given and self._matches(given[-1]):
            rest = urlencode([(k, v) for k, v in query if k != "key"])
            await _redirect_setting_cookie(send, quote(scope["path"]) + (f"?{rest}" if rest
                                                                         else ""), given[-1])
            return
        body = json.dumps({"error": "this server needs its API key: send "
                                    "'Authorization: Bearer <key>', or open the page "
                                    "once as /?key=<key>"}).encode("utf-8")
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"www-authenticate", b"Bearer"),
                                (b"content-length", str(len(body)).encode("ascii"))]})
        await send({"type": "http.response.body", "body": body})


async def _redirect_setting_cookie(send, location: str, key: str) -> None:
    cookie = f"{COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")),
                            (b"set-cookie", cookie.encode("latin-1")),
                            (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
