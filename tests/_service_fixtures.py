"""Helpers shared by the service tests: a free port, a ``textmanifold serve`` subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import textmanifold
from textmanifold.client import Client, ServiceError


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(index_dir: Path, log: Path, *options: str, env: dict | None = None):
    """Run ``textmanifold serve INDEX [options]`` on a free loopback port; yield its URL.

    The server imports the same ``textmanifold`` as this process; its output goes to
    ``log``, which is shown if it does not come up within two minutes.
    """
    source = str(Path(textmanifold.__file__).resolve().parents[1])
    env = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]),
    }
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from textmanifold.cli import main; main()",
                "serve",
                str(index_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *options,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            Client(url).wait_until_ready(120, give_up=lambda: process.poll() is not None)
        except ServiceError as exc:
            raise RuntimeError(
                f"textmanifold serve did not come up ({exc}):\n" + log.read_text(errors="replace")
            ) from None
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
