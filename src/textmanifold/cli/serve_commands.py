"""``textmanifold serve INDEX``: the HTTP API and the search page of an index."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from ..service.auth import API_KEY_ENV, api_key_from_env, check_api_key
from ..service.limits import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, MAX_CONNECTIONS
from ..validation import check_interval, check_positive_int


def serve(
    index: Path = typer.Argument(..., help="Index directory (textmanifold index build)."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind; 0.0.0.0 exposes it to the network (then set an API key).",
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level."),
    blas_threads: int = typer.Option(
        1,
        "--blas-threads",
        help="BLAS and torch threads per search; more only helps "
        "an otherwise idle machine with few concurrent "
        "clients.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        help="Server processes, each answering one search at a time; "
        "they share the memory-mapped index. About one per core.",
    ),
    header_timeout: float = typer.Option(
        HEADER_TIMEOUT_S,
        "--header-timeout",
        help="Seconds a client may take to send its request headers; then the "
        "connection is closed.",
    ),
    body_timeout: float = typer.Option(
        BODY_TIMEOUT_S,
        "--body-timeout",
        help="Seconds a client may take to send a request body; then 408.",
    ),
    max_connections: int = typer.Option(
        MAX_CONNECTIONS,
        "--max-connections",
        help="Open connections served at once; requests beyond them get 503.",
    ),
    api_key: str = typer.Option(
        None,
        "--api-key",
        show_default=False,
        help=f"Require this key (Authorization: Bearer KEY) on every request but "
        f"/healthz; the page is opened once as /?key=KEY. Default: "
        f"${API_KEY_ENV}, else no key.",
    ),
):
    """Serve an index: JSON API (POST /search, /items/ID, /path, /healthz, /metrics, docs
    at /docs) and a search page at /."""
    check_positive_int(blas_threads, "--blas-threads")
    check_positive_int(workers, "--workers")
    check_positive_int(max_connections, "--max-connections")
    for name, value in (("--header-timeout", header_timeout), ("--body-timeout", body_timeout)):
        check_interval(name, value, 0, None, closed="neither", why="seconds")
    check_interval("--port", port, 1, 65535, why="a TCP port")
    api_key = api_key or api_key_from_env()
    if api_key is not None:
        check_api_key(api_key)
    try:
        from ..service.launch import ServeOptions, serve_index
    except ImportError as exc:
        raise InputError(
            "serve needs the 'serve' extra: pip install 'textmanifold[serve]'"
        ) from exc
    options = ServeOptions(
        host=host,
        port=port,
        log_level=log_level,
        blas_threads=blas_threads,
        workers=workers,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
        api_key=api_key,
    )
    serve_index(index, options, say=typer.echo, warn=_warn)


def _warn(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.YELLOW)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the top-level app."""
    app.command("serve")(serve)
