"""``textmanifold demo``: the paper's experiments end to end on generated data."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ..demo import STAGES
from ._options import FORCE, PROGRESS, RESUME, SEED, WORKERS, worker_count


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run directory."),
    full: bool = typer.Option(False, "--full",
                              help="The paper's CCI depth 4 (11,111 images) and longer "
                                   "training at 128 px: about 5 hours on 2 CPU cores "
                                   "(estimated from timed steps, see README)."),
    tiny: bool = typer.Option(False, "--tiny", help="A smoke-test size (about a minute)."),
    stage: str = typer.Option(None, "--stage",
                              help="Stop after this stage, one of: " + ", ".join(STAGES) + "."),
    resume: bool = RESUME, force: bool = FORCE, seed: int = SEED, workers: int = WORKERS,
    progress: bool = PROGRESS,
) -> None:
    """Reproduce the paper's experiments on generated data and write a report.

    Generates CCI and the category set, trains the joint model and the compositors,
    embeds, aligns (ICP), builds graphs, evaluates Tables 1, 3 and 4, draws the figures
    and writes OUT/report/report.md and OUT/report/index.html. Every stage is cached
    in OUT: --resume continues an interrupted run.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download
    from ..demo import default_config, full_config, run_demo, tiny_config
    from ..errors import InputError

    if full and tiny:
        raise InputError("choose one of --full and --tiny")
    make = full_config if full else tiny_config if tiny else default_config
    config = make(seed=seed, workers=worker_count(workers))
    results = run_demo(out, config, stage=stage, resume=resume, force=force, progress=progress)
    total = sum(r["seconds"] for r in results.values())
    typer.echo(f"{len(results)} of {len(STAGES)} stages done in {out} ({total:.0f} s)")
    if "report" in results:
        typer.echo(f"report: {out / 'report' / 'index.html'}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
