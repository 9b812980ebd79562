"""``textmanifold classes generate``: the labelled scene-category set (label retrieval)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._options import FORCE, PROGRESS, RESUME, SEED, WORKERS, parse_size, worker_count

classes_app = typer.Typer(
    help="Scene categories: a labelled set for label retrieval "
    "(few rendered images, many descriptions).",
    no_args_is_help=True,
)


@classes_app.command("generate")
def generate(
    out: Path = typer.Argument(..., help="Collection directory to write."),
    classes: int = typer.Option(16, "--classes", help="Number of categories K."),
    images_per_class: int = typer.Option(12, help="Rendered, labelled images per category."),
    texts_per_class: int = typer.Option(60, help="Description-only scenes per category."),
    size: str = typer.Option("128x96", help="Image size WIDTHxHEIGHT."),
    seed: int = SEED,
    workers: int = WORKERS,
    resume: bool = RESUME,
    force: bool = FORCE,
    progress: bool = PROGRESS,
) -> None:
    """Generate the scene-category set as a Collection."""
    from ..collection import read_collection
    from ..synth.classes import ClassesConfig, generate_classes

    width, height = parse_size(size)
    config = ClassesConfig(
        n_classes=classes,
        images_per_class=images_per_class,
        texts_per_class=texts_per_class,
        width=width,
        height=height,
        seed=seed,
    )
    root = generate_classes(
        out, config, workers=worker_count(workers), resume=resume, force=force, progress=progress
    )
    coll = read_collection(root)
    typer.echo(
        f"{root}: {classes} categories, {len(coll.images())} images, "
        f"{len(coll.texts())} text-only scenes"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(classes_app, name="classes")
