"""Run the demo: check the run directory, then walk :data:`.stages.STAGE_TABLE` in order,
skipping the stages a resumed run has done."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .. import io
from ..errors import InputError
from ..outputs import check_output_dir, clear_owned
from .config import DemoConfig, default_config
from .layout import OWNED, Demo
from .stages import STAGE_TABLE, STAGES


def _check_directory(out: Path, config: DemoConfig, resume: bool, force: bool) -> None:
    """Refuse an ``out`` that is not this run's (see ``--resume`` / ``--force``)."""
    check_output_dir(out, None, force=force, resume=resume, allow_nonempty=True)
    if force:
        clear_owned(out, OWNED)
        return
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not resume:
        raise InputError(
            f"{out}: directory is not empty (use --resume to continue the run "
            "or --force to start it over)"
        )
    stamp = out / "demo.json"
    if not stamp.exists():
        raise InputError(f"{out}: holds no demo run (no demo.json); choose another --out")
    if io.read_json(stamp).get("fingerprint") != config.fingerprint():
        raise InputError(
            f"{stamp}: the run was made with other settings (e.g. --full); "
            "use --force to start it over or choose another --out"
        )


def run_demo(
    out: str | os.PathLike,
    config: DemoConfig | None = None,
    *,
    stage: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run the demo's stages in order, up to and including ``stage`` (default: all).

    Parameters
    ----------
    out : path-like
        The run directory.
    config : DemoConfig, optional
        Default: :func:`default_config`.
    stage : str, optional
        Stop after this stage (one of :data:`STAGES`).
    resume : bool
        Skip stages already done in ``out``; continue an interrupted one.
    force : bool
        Remove what an earlier run wrote in ``out`` and start over.
    progress : bool
        Show progress bars.
    log : callable, optional
        Receives one line per stage start and end (default: print to stderr).

    Returns
    -------
    dict
        Stage name -> its recorded result (``seconds`` included) for every stage done.
    """
    from ..evaluate.report import json_safe

    config = config or default_config()
    if stage is not None and stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}; one of: {', '.join(STAGES)}")
    out = Path(out)
    _check_directory(out, config, resume, force)
    demo = Demo(out, config, progress)
    if log is not None:
        demo.log = log
    io.write_json(
        out / "demo.json", {"fingerprint": config.fingerprint(), "config": config.to_record()}
    )
    last = STAGES.index(stage) if stage else len(STAGES) - 1
    for number, (name, stage_function) in enumerate(STAGE_TABLE[: last + 1], start=1):
        marker = demo.marker(name)
        if marker.exists():
            demo.results[name] = io.read_json(marker)
            demo.log(
                f"[{number}/{len(STAGES)}] {name}: done earlier "
                f"({demo.results[name]['seconds']:.1f} s), skipped"
            )
            continue
        demo.log(f"[{number}/{len(STAGES)}] {name} ...")
        started = time.perf_counter()
        result = stage_function(demo)
        result["seconds"] = round(time.perf_counter() - started, 3)
        result = json_safe(result)  # NaN (e.g. an undefined accuracy) is stored as null
        io.write_json(marker, result)
        demo.results[name] = result
        demo.log(f"[{number}/{len(STAGES)}] {name}: {result['seconds']:.1f} s")
    return demo.results
