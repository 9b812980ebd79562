"""``textmanifold serve INDEX``: the HTTP API and the search page of an index."""

from __future__ import annotations

import socket
from pathlib import Path

import typer

from ..errors import InputError, TextManifoldError
from ..validation import check_positive_int


def serve(index: Path = typer.Argument(..., help="Index directory (textmanifold index build)."),
          host: str = typer.Option("127.0.0.1", "--host",
                                   help="Address to bind; 0.0.0.0 exposes it to the network."),
          port: int = typer.Option(8000, "--port", help="TCP port."),
          log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level."),
          blas_threads: int = typer.Option(
              1, "--blas-threads", help="BLAS threads per search; more only helps an "
                                        "otherwise idle machine with few concurrent clients.")):
    """Serve an index: JSON API (POST /search, /items/ID, /path, /healthz, /metrics, docs
    at /docs) and a search page at /."""
    check_positive_int(blas_threads, "--blas-threads")
    if not 1 <= port <= 65535:
        raise InputError(f"--port: {port} is not a TCP port (1-65535)")
    try:
        import uvicorn
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise InputError("serve needs the 'serve' extra: pip install 'textmanifold[serve]'") \
            from exc
    from ..index import ManifoldIndex
    from ..service import create_app

    loaded = ManifoldIndex.load(index)
    _check_bindable(host, port)
    _warm_up(loaded)
    app = create_app(loaded)
    typer.echo(f"serving {index} at http://{host}:{port}/  (Ctrl-C stops)")
    # Concurrent requests each run a BLAS product: BLAS's own threads on top of the
    # server's oversubscribe the cores, and under load a search gets many times slower.
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        uvicorn.run(app, host=host, port=port, log_level=log_level)


def _warm_up(index) -> None:
    """Load the run's encoders now, so that the first sentence or image query is not the
    one that waits for them; a run that cannot load leaves id and vector queries working."""
    if not (index.manifest.get("model") or {}).get("run"):
        return
    typer.echo("loading the index's run (text and image encoders)...")
    try:
        index.search(text="warm up", k=1, metric="euclidean")
    except TextManifoldError as exc:
        typer.secho(f"warning: text and image queries will fail: {exc}", err=True,
                    fg=typer.colors.YELLOW)


def _check_bindable(host: str, port: int) -> None:
    """One clear line when the address is taken or not this machine's (not a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(f"--host/--port: cannot listen on {host}:{port}: "
                             f"{exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the top-level app."""
    app.command("serve")(serve)
