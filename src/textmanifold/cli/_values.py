"""Parsing of option values that several commands share."""

from __future__ import annotations

import os
import re

from ..errors import InputError


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
