"""``textmanifold serve INDEX``: the HTTP API and the search page of an index."""

from __future__ import annotations

import ipaddress
import socket
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
        from ..service.server import serve_app
        from ..service.workers import serve_workers, use_threads, warm_up
    except ImportError as exc:
        raise InputError(
            "serve needs the 'serve' extra: pip install 'textmanifold[serve]'"
        ) from exc
    from ..index import ManifoldIndex
    from ..service import create_app

    loaded = ManifoldIndex.load(index)  # checked here: a damaged index stops before serving
    _check_bindable(host, port)
    use_threads(blas_threads)
    if workers == 1:  # with more, each worker loads its own encoders (service.workers)
        _warm_up(loaded, warm_up)
    if api_key is None and not _is_loopback(host):
        typer.secho(
            f"warning: {host} is reachable from other machines and no API key is "
            f"set (--api-key or ${API_KEY_ENV})",
            err=True,
            fg=typer.colors.YELLOW,
        )
    typer.echo(
        f"serving {index} at http://{host}:{port}/ with {workers} worker"
        f"{'s' if workers > 1 else ''}  (Ctrl-C stops)"
    )
    if workers > 1:
        del loaded  # each worker opens the index itself (memory-mapped, pages shared)
        serve_workers(
            index,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            body_timeout=body_timeout,
            header_timeout=header_timeout,
            max_connections=max_connections,
            threads=blas_threads,
            api_key=api_key,
        )
        return
    app = create_app(loaded, body_timeout=body_timeout, api_key=api_key)
    serve_app(
        app,
        host=host,
        port=port,
        log_level=log_level,
        header_timeout=header_timeout,
        max_connections=max_connections,
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _warm_up(index, warm_up) -> None:
    """Load the run's encoders before serving (``service.workers.warm_up``), saying so."""
    if not index.info.run:
        return
    typer.echo("loading the index's run (text and image encoders)...")
    problem = warm_up(index)
    if problem is not None:
        typer.secho(
            f"warning: text and image queries will fail: {problem}",
            err=True,
            fg=typer.colors.YELLOW,
        )


def _check_bindable(host: str, port: int) -> None:
    """One clear line when the address is taken or not this machine's (not a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the top-level app."""
    app.command("serve")(serve)
