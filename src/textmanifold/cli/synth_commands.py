"""Commands for generated data and Collections: ``cci generate``, ``collection info|validate``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ._options import FORCE, PROGRESS, RESUME, SEED, WORKERS, parse_size, worker_count

cci_app = typer.Typer(
    help="CLEVR-Change-Iterative (CCI): generate the dataset.", no_args_is_help=True
)
collection_app = typer.Typer(
    help="Inspect and validate a Collection directory.", no_args_is_help=True
)


@cci_app.command("generate")
def cci_generate(
    out: Path = typer.Argument(..., help="Collection directory to create."),
    depth: int = typer.Option(4, help="Iterations of changes below the source scene."),
    branching: int = typer.Option(10, help="Children per scene."),
    size: str = typer.Option("320x240", help="Image size WIDTHxHEIGHT in pixels."),
    text_only_scenes: int = typer.Option(0, help="Extra scenes with a description only."),
    changes: str = typer.Option(
        "all",
        help="Change kinds: 'all' (color, material, shape, size, add, drop, move; "
        "3-6 source objects) or 'clevr-change' (CLEVR-Change's color, material, add, drop, "
        "move; 3-10 source objects).",
    ),
    repeat_scenes: bool = typer.Option(
        False,
        "--repeat-scenes/--unique-scenes",
        help="Let scenes repeat across the tree (images stay unique through the camera), "
        "as in the paper; default: every scene is new.",
    ),
    train_branches: int = typer.Option(
        0, help="Extra rendered children of random non-leaf scenes, each a training pair."
    ),
    seed: int = SEED,
    workers: int = WORKERS,
    resume: bool = RESUME,
    force: bool = FORCE,
    progress: bool = PROGRESS,
) -> None:
    """Render CCI: a tree of scene changes with instructions, descriptions, splits."""
    from ..synth.cci import generate_cci

    width, height = parse_size(size)
    path = generate_cci(
        out,
        depth=depth,
        branching=branching,
        size=(width, height),
        seed=seed,
        workers=worker_count(workers),
        text_only_scenes=text_only_scenes,
        changes=changes,
        repeat_scenes=repeat_scenes,
        train_branches=train_branches,
        resume=resume,
        force=force,
        progress=progress,
    )
    _print_info(path)


def _print_info(path: Path) -> None:
    from ..collection import read_collection
    from ..synth.reachability import mean_neighbours

    coll = read_collection(path)
    counts = coll.meta.get("counts", {})
    typer.echo(f"name: {coll.name}")
    typer.echo(f"path: {coll.root}")
    typer.echo("counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    image_splits = Counter(it.split for it in coll.images())
    pair_splits = Counter(p.split for p in coll.pairs)
    typer.echo("image splits: " + _format_counts(image_splits))
    typer.echo("pair splits: " + _format_counts(pair_splits))
    config = coll.meta.get("config", {})
    if config:
        typer.echo("config: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    if (coll.root / "reachable.npz").exists():
        reachable = coll.reachable()
        image_scenes = sorted({it.scene for it in coll.images() if it.scene is not None})
        typer.echo(
            f"reachable neighbours per image: mean "
            f"{mean_neighbours(reachable, image_scenes):.2f} (paper's CCI: 9.73)"
        )
        if len(image_scenes) != reachable.shape[0]:
            typer.echo(
                f"reachable neighbours per scene (with text-only): mean "
                f"{mean_neighbours(reachable):.2f}"
            )


def _format_counts(counter: Counter) -> str:
    if not counter:
        return "none"
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items(), key=str))


@collection_app.command("info")
def collection_info(directory: Path = typer.Argument(..., help="Collection directory.")) -> None:
    """Name, counts, splits, config and, for CCI, the mean number of reachable neighbours."""
    _print_info(directory)


@collection_app.command("validate")
def collection_validate(
    directory: Path = typer.Argument(..., help="Collection directory."),
    images: bool = typer.Option(True, help="Decode every image file completely."),
) -> None:
    """Exit 0 when the Collection is valid, 2 with one line per problem otherwise."""
    from ..collection import validate_collection

    problems = validate_collection(directory, check_images=images, progress=True)
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(code=2)
    typer.echo(f"{directory}: valid")


def register(app: typer.Typer) -> None:
    app.add_typer(cci_app, name="cci")
    app.add_typer(collection_app, name="collection")
