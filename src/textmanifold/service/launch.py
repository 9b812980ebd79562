"""Serving an index: open it, check the address, warm up, and run one or more workers.

:func:`serve_index` is what ``textmanifold serve`` does once its options are parsed:
the index is opened (and so checked) before anything listens, the address is probed so
a taken port is one clear line, the run's encoders load before the first request (in
each worker, with several), and the server runs until interrupted. Messages go to the
``say`` and ``warn`` callables (the CLI prints them).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .auth import API_KEY_ENV
from .limits import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, MAX_CONNECTIONS
from .server import serve_app  # uvicorn: a missing 'serve' extra fails on import
from .workers import serve_workers, use_threads, warm_up

__all__ = ["ServeOptions", "check_bindable", "is_loopback", "serve_index"]


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: address, uvicorn log level, threads and workers, client bounds, key.

    The values are the CLI's, already checked there (``textmanifold serve --help``).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    blas_threads: int = 1
    workers: int = 1
    header_timeout: float = HEADER_TIMEOUT_S
    body_timeout: float = BODY_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    api_key: str | None = None


def serve_index(
    index_dir: str | Path,
    options: ServeOptions,
    *,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Serve the index in ``index_dir`` with ``options`` until interrupted.

    Raises
    ------
    DataFormatError, MissingFileError
        The index is damaged or missing (nothing listens then).
    InputError
        The address cannot be bound.
    """
    from ..index import ManifoldIndex
    from .app import create_app

    o = options
    loaded = ManifoldIndex.load(index_dir)  # a damaged index stops before serving
    check_bindable(o.host, o.port)
    use_threads(o.blas_threads)
    if o.workers == 1 and loaded.info.run:  # with more, each worker warms itself up
        say("loading the index's run (text and image encoders)...")
        problem = warm_up(loaded)
        if problem is not None:
            warn(f"warning: text and image queries will fail: {problem}")
    if o.api_key is None and not is_loopback(o.host):
        warn(
            f"warning: {o.host} is reachable from other machines and no API key is "
            f"set (--api-key or ${API_KEY_ENV})"
        )
    plural = "s" if o.workers > 1 else ""
    say(
        f"serving {index_dir} at http://{o.host}:{o.port}/ with {o.workers} "
        f"worker{plural}  (Ctrl-C stops)"
    )
    if o.workers > 1:
        del loaded  # each worker opens the index itself (memory-mapped, pages shared)
        serve_workers(
            index_dir,
            workers=o.workers,
            host=o.host,
            port=o.port,
            log_level=o.log_level,
            body_timeout=o.body_timeout,
            header_timeout=o.header_timeout,
            max_connections=o.max_connections,
            threads=o.blas_threads,
            api_key=o.api_key,
        )
        return
    app = create_app(loaded, body_timeout=o.body_timeout, api_key=o.api_key)
    serve_app(
        app,
        host=o.host,
        port=o.port,
        log_level=o.log_level,
        header_timeout=o.header_timeout,
        max_connections=o.max_connections,
    )


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is this machine only (127.0.0.0/8, ::1 or ``localhost``)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_bindable(host: str, port: int) -> None:
    """Refuse an address that is taken or not this machine's, in one line (no traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
