"""Options and option parsing that several commands share."""

from __future__ import annotations

import os
import re

import typer

from ..errors import InputError

# The generators' options (cci generate, classes generate).
SEED = typer.Option(0, "--seed", help="Fixes every random choice: the same seed, the same bytes.")
WORKERS = typer.Option(0, "--workers", show_default=False,
                       help="Processes for planning and rendering (default 0: one per CPU; "
                            "the output does not depend on it).")
RESUME = typer.Option(False, "--resume", help="Keep the valid images already in OUT.")
FORCE = typer.Option(False, "--force", help="Overwrite a non-empty OUT.")


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``; anything else is an InputError naming the value."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"--size must be WIDTHxHEIGHT such as 320x240, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def worker_count(workers: int) -> int:
    """``--workers``: a positive count as given, 0 for one process per CPU."""
    if workers < 0:
        raise InputError(f"--workers must be >= 0, got {workers}")
    return workers or os.cpu_count() or 1
