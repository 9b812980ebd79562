"""Several uvicorn worker processes serving one index (``textmanifold serve --workers N``).

uvicorn starts workers by importing the application in each new process, so it cannot be
handed a loaded index: :func:`serve_workers` puts what a worker needs (the index
directory, limits, threads, API key) in environment variables and names
:func:`app_from_environment`, which every worker calls once to load the index
memory-mapped — the vectors and graph pages are then shared by the operating system, not
copied per worker — and build the same app as one process serves. Requests are spread
over the workers by the kernel (one listening socket), so N workers run N searches at
once where one worker queues them behind its index lock.
"""

from __future__ import annotations

import os
import sys

from .limits import HEADER_TIMEOUT_S, MAX_CONNECTIONS

__all__ = ["ENVIRONMENT", "app_from_environment", "serve_workers", "use_threads", "warm_up"]

# The variables a worker reads (the API key goes through auth.API_KEY_ENV).
ENVIRONMENT = {
    "index": "TEXTMANIFOLD_SERVE_INDEX",
    "body_timeout": "TEXTMANIFOLD_SERVE_BODY_TIMEOUT",
    "header_timeout": "TEXTMANIFOLD_SERVE_HEADER_TIMEOUT",
    "threads": "TEXTMANIFOLD_SERVE_THREADS",
}


def use_threads(threads: int) -> None:
    """Limit BLAS and torch's intra-op pool to ``threads`` per search, process-wide.

    Concurrent requests each run a BLAS product or a torch forward pass; their own
    threads on top of the server's oversubscribe the cores. Measured by hand under load
    on 2 cores: one sentence query on the demo's index took 25 ms at 1 torch thread and
    361 ms at 2."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    try:
        import torch
    except ImportError:  # an index without a run never needs torch
        return
    torch.set_num_threads(threads)


def warm_up(index) -> str | None:
    """Load the run's encoders now, so that the first sentence or image query is not the
    one that waits for them. Returns None, or why text and image queries will fail (a
    run that cannot load leaves id and vector queries working)."""
    from ..errors import TextManifoldError

    if not index.info.run:
        return None
    try:
        index.search(text="warm up", k=1, metric="euclidean")
    except TextManifoldError as exc:
        return str(exc)
    return None


def app_from_environment():
    """The app of the index named by :data:`ENVIRONMENT` (a uvicorn ``--factory``)."""
    from ..index import ManifoldIndex
    from .app import create_app
    from .auth import api_key_from_env
    from .server import HeaderTimeoutProtocol

    HeaderTimeoutProtocol.header_timeout = float(os.environ[ENVIRONMENT["header_timeout"]])
    use_threads(int(os.environ[ENVIRONMENT["threads"]]))
    index = ManifoldIndex.load(os.environ[ENVIRONMENT["index"]], mmap=True)
    problem = warm_up(index)  # in every worker: each has its own encoders
    if problem is not None:
        print(f"warning: text and image queries will fail: {problem}", file=sys.stderr)
    return create_app(
        index,
        body_timeout=float(os.environ[ENVIRONMENT["body_timeout"]]),
        api_key=api_key_from_env(),
    )


def serve_workers(
    index_dir,
    *,
    workers: int,
    host: str,
    port: int,
    log_level: str = "info",
    body_timeout: float,
    header_timeout: float = HEADER_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
    threads: int = 1,
    api_key: str | None = None,
) -> None:
    """Run ``workers`` uvicorn processes on ``host:port`` until interrupted.

    ``max_connections`` bounds each worker's open connections (503 beyond them).
    """
    import uvicorn

    from .auth import API_KEY_ENV

    os.environ.update(
        {
            ENVIRONMENT["index"]: str(index_dir),
            ENVIRONMENT["body_timeout"]: repr(float(body_timeout)),
            ENVIRONMENT["header_timeout"]: repr(float(header_timeout)),
            ENVIRONMENT["threads"]: str(int(threads)),
        }
    )
    if api_key is not None:
        os.environ[API_KEY_ENV] = api_key
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        http="textmanifold.service.server:HeaderTimeoutProtocol",
        limit_concurrency=max_connections,
    )
