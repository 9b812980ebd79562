"""Helpers for tests that run the command line in-process: refusals and directory hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from textmanifold.cli import main


def refused(args, capsys) -> str:
    """Run the CLI; assert exit 2 with exactly one ``error:`` line; return that line."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def succeeded(args, capsys) -> tuple[str, str]:
    """Run the CLI; assert exit 0; return (stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    return out, err


def tree_hash(root: Path) -> dict[str, str | None]:
    """Every path under ``root`` (hidden ones too) with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): (
            None if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        )
        for p in sorted(Path(root).rglob("*"))
    }
