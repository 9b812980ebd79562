"""The output gate: every command checks where it will write before it does any work.

:func:`check_output_file` and :func:`check_output_dir` resolve an output path and refuse,
in one line naming the path and the option, what would otherwise fail late or with a
traceback: a parent that is a regular file, a directory where a file goes (or a file
where a directory goes), a place the user may not write, and the ``--force`` /
``--resume`` rules of a run directory. :func:`remove_stale_temps` clears the temporary
files an interrupted atomic write leaves (see :func:`textmanifold.io.atomic_write`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError

# io.atomic_write's temporary files: ".<name>.<8 random characters>.tmp" (tempfile.mkstemp).
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def _label(path: Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def _check_parents(path: Path, option: str | None) -> None:
    """Every existing ancestor is a directory; the nearest one is writable."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{_label(path, option)}: {parent} is a file, not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(
                    f"{_label(path, option)}: cannot write in {parent} (permission denied)"
                )
            return


def check_output_file(
    path: str | os.PathLike, option: str | None = "--out", *, force: bool | None = None
) -> Path:
    """Check that a file may be written at ``path``; return it as a :class:`Path`.

    Parameters
    ----------
    path : path-like
        The file a command will write (its parent is created if missing).
    option : str, optional
        The option or argument that named it, for the message (e.g. ``"--out"``).
    force : bool, optional
        ``None`` (the default): an existing file is replaced. ``False``: an existing file
        is refused (use ``--force``); ``True``: it is replaced.

    Raises
    ------
    InputError
        ``path`` is an existing directory, lies under a regular file, is in a directory
        the user may not write, or exists while ``force`` is False.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{_label(path, option)}: is a directory; give a file name")
    _check_parents(path, option)
    if path.exists():
        if force is False:
            raise InputError(f"{_label(path, option)}: exists (use --force to overwrite it)")
        if not os.access(path, os.W_OK):
            raise InputError(f"{_label(path, option)}: cannot overwrite (permission denied)")
    return path


def check_output_dir(
    path: str | os.PathLike,
    option: str | None = "--out",
    *,
    force: bool = False,
    resume: bool | None = False,
    allow_nonempty: bool = False,
) -> Path:
    """Check that a directory may be created or written at ``path``; return it.

    Parameters
    ----------
    path : path-like
        The directory a command will write into.
    option : str, optional
        The option or argument that named it, for the message.
    force : bool
        A non-empty directory may be overwritten (the command removes what it owns).
    resume : bool or None
        A non-empty directory holds an interrupted run to continue; its stale temporary
        files are removed (:func:`remove_stale_temps`). ``None``: the command cannot
        resume (the message then offers ``--force`` only).
    allow_nonempty : bool
        Accept a non-empty directory without ``force`` or ``resume`` (the command has
        its own rule, e.g. a run directory it adds files to).

    Raises
    ------
    InputError
        Both ``force`` and ``resume``; ``path`` is a file or lies under one; the nearest
        existing directory is not writable; ``path`` is a non-empty directory without
        ``force``, ``resume`` or ``allow_nonempty``.
    """
    path = Path(path)
    if force and resume:
        raise InputError("choose one of --resume and --force")
    if path.exists() and not path.is_dir():
        raise InputError(f"{_label(path, option)}: exists and is not a directory")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{_label(path, option)}: cannot write in it (permission denied)")
        if not (force or resume or allow_nonempty) and any(path.iterdir()):
            offer = (
                "--force to overwrite it"
                if resume is None
                else "--resume to continue it or --force to overwrite it"
            )
            raise InputError(f"{_label(path, option)}: directory is not empty (use {offer})")
        if resume:
            remove_stale_temps(path)
    else:
        _check_parents(path, option)
    return path


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files interrupted atomic writes left under ``directory``.

    Only names of the form ``.<name>.<8 characters>.tmp`` (what
    :func:`textmanifold.io.atomic_write` creates) are removed.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for root, _, files in os.walk(directory):
        for name in files:
            if _TEMP.match(name):
                path = Path(root) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def clear_owned(directory: Path, owned: Iterable[str]) -> None:
    """``--force``: remove the entries of ``directory`` a command owns, and nothing else."""
    for name in owned:
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
