"""Helpers for tests that run the command line in-process: one runner, refusals, hashes.

:func:`run_cli` is the one in-process runner (the ``cli`` fixture of ``conftest.py`` binds
it to ``capsys``); :func:`exit_code` is it for tests that only check the status.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import pytest

from textmanifold.cli import main

# `train joint|compose` options that make a run tiny enough for a test: two steps of four
# 32 px examples into an 8-d space, on the CPU.
TINY_TRAINING = (
    "--steps", "2", "--batch-size", "4", "--image-size", "32", "--dim", "8", "--device", "cpu",
)  # fmt: skip


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def exit_code(*args) -> int:
    """Run the CLI on ``args`` (made strings) in-process; return its exit status."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return exit_info.value.code


def run_cli(capsys, *args) -> CliResult:
    """Run the CLI in-process; return its exit status and what it wrote."""
    code = exit_code(*args)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def refused(args, capsys) -> str:
    """Run the CLI; assert exit 2 with exactly one ``error:`` line; return that line."""
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def succeeded(args, capsys) -> tuple[str, str]:
    """Run the CLI; assert exit 0; return (stdout, stderr)."""
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out, err


def tree_hash(root: Path) -> dict[str, str | None]:
    """Every path under ``root`` (hidden ones too) with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): (
            None if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        )
        for p in sorted(Path(root).rglob("*"))
    }
