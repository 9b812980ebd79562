"""Every option that more than one command takes, defined once, and their parsing.

- ``--seed``: fixes every random choice of the command;
- ``--force``: overwrite a non-empty OUT, removing only what the command writes there;
- ``--resume``: continue the interrupted run in OUT, keeping the work it finished (and
  removing the temporary files the interruption left);
- ``--progress/--no-progress``: progress bars on stderr;
- ``--threshold`` / ``--target-degree``: the graph's edge threshold in radians, or the
  mean degree that chooses it;
- ``--workers``: worker processes; 0 (the default) lets the command choose: one per CPU
  where the work is CPU-bound (generating, rendering), none beside the main process for
  image loading. The results never depend on it.
"""

from __future__ import annotations

import os
import re

import typer

from ..errors import InputError
from ..validation import check_interval

SEED = typer.Option(0, "--seed", help="Fixes every random choice: the same seed, the same bytes.")
FORCE = typer.Option(
    False,
    "--force",
    help="Overwrite a non-empty OUT (only the files this command writes there are replaced).",
)
RESUME = typer.Option(
    False, "--resume", help="Continue the interrupted run in OUT, keeping the work it finished."
)
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show progress bars.")
THRESHOLD = typer.Option(None, "--threshold", help="Edge threshold, radians.")
DEGREE = typer.Option(
    None, "--target-degree", help="Choose the threshold giving about this mean degree."
)
WORKERS = typer.Option(
    0,
    "--workers",
    min=0,
    show_default=False,
    help="Worker processes (default 0: one per CPU for generation, none "
    "beside the main process for image loading; the output does "
    "not depend on it).",
)


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``; anything else is an InputError naming the value."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"--size must be WIDTHxHEIGHT such as 320x240, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def worker_count(workers: int) -> int:
    """``--workers`` for CPU-bound work: a positive count as given, 0 for one per CPU."""
    check_interval("--workers", workers, 0)
    return workers or os.cpu_count() or 1
