"""``textmanifold load DATASET ROOT OUT [options]``: real datasets into Collections.

One sub-command per dataset, so each shows only its own options in ``--help``. Every
one refuses a non-empty OUT unless ``--force``, never copies images (the Collection
records ROOT), and prints a one-line summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._options import FORCE, PROGRESS

load_app = typer.Typer(
    help="Read a real dataset (ADE20K, Open Images, Fashion-IQ, CSS, CLEVR) or a folder of "
    "your own images into a Collection. Images stay where they are; the Collection "
    "records ROOT.",
    no_args_is_help=True,
)

ROOT = typer.Argument(..., help="The dataset's directory, as released.")
OUT = typer.Argument(..., help="The Collection directory to write (empty or absent).")
SKIP_MISSING = typer.Option(
    False,
    "--skip-missing-images",
    help="Drop records whose image file is missing or unreadable (not an "
    "image, truncated) instead of failing; the summary counts "
    "them.",
)


def _run(dataset: str, root: Path, out: Path, force: bool, **options: Any) -> None:
    from ..collection import read_collection
    from ..loaders import load_dataset

    path = load_dataset(dataset, root, out, force=force, **options)
    coll = read_collection(path)
    counts = coll.meta["config"].get("counts", {})
    typer.echo(
        f"{dataset}: wrote {len(coll.images())} images, {len(coll.pairs)} pairs to {path} "
        f"({counts.get('before', '?')} records before filtering, "
        f"{counts.get('after', '?')} after)"
    )
    if "captioned" in counts:
        typer.echo(
            f"{dataset}: {counts['captioned']} of {counts['after']} images captioned, "
            f"{counts['extra_captions']} more captions as text items, "
            f"{counts['bad_images_skipped']} unreadable images skipped, "
            f"{counts['links_outside_root']} links outside ROOT not followed"
        )
    skipped = counts.get("missing_image", 0)
    if skipped:
        typer.echo(
            f"{dataset}: skipped {skipped} records whose image is missing or "
            "unreadable (--skip-missing-images)"
        )


@load_app.command("ade20k")
def ade20k(
    root: Path = ROOT,
    out: Path = OUT,
    release: str = typer.Option("auto", help="2016, 2021, or auto (from the index file)."),
    index: Path | None = typer.Option(None, help="index_ade20k.mat / .pkl if not in ROOT."),
    split: str = typer.Option("train,val", help="Splits to keep, comma-separated."),
    names: str = typer.Option("wordnet", help="Object names: wordnet (first term) or raw."),
    max_objects: int | None = typer.Option(
        None, min=1, help="Keep at most this many object names."
    ),
    exclude_scenes: str = typer.Option("outliers,misc", help="Scene words to exclude."),
    force: bool = FORCE,
    skip_missing_images: bool = SKIP_MISSING,
    progress: bool = PROGRESS,
) -> None:
    """ADE20K (2016 or 2021 release): scene labels, object names as text."""
    _run(
        "ade20k",
        root,
        out,
        force,
        release=release,
        index=index,
        split=split,
        names=names,
        max_objects=max_objects,
        exclude_scenes=exclude_scenes,
        skip_missing_images=skip_missing_images,
        show_progress=progress,
    )


@load_app.command("openimages")
def openimages(
    root: Path = ROOT,
    out: Path = OUT,
    labels_csv: Path | None = typer.Option(None, help="Human-verified image labels CSV."),
    classes_csv: Path | None = typer.Option(None, help="Class descriptions CSV."),
    boxes_csv: Path | None = typer.Option(None, help="Bounding boxes CSV."),
    narratives: Path | None = typer.Option(None, help="Localized Narratives JSONL."),
    require_caption: bool = typer.Option(False, help="Drop images without a narrative."),
    force: bool = FORCE,
    skip_missing_images: bool = SKIP_MISSING,
    progress: bool = PROGRESS,
) -> None:
    """Open Images V6/V7 validation: verified labels (largest box first), narratives."""
    _run(
        "openimages",
        root,
        out,
        force,
        labels_csv=labels_csv,
        classes_csv=classes_csv,
        boxes_csv=boxes_csv,
        narratives=narratives,
        require_caption=require_caption,
        skip_missing_images=skip_missing_images,
        show_progress=progress,
    )


@load_app.command("fashioniq")
def fashioniq(
    root: Path = ROOT,
    out: Path = OUT,
    categories: str = typer.Option("dress,toptee,shirt", help="Categories, comma-separated."),
    split: str = typer.Option("train,val", help="Splits, comma-separated (train,val,test)."),
    require_side_info: bool = typer.Option(
        True, help="Keep only pairs whose two images have attributes (the paper's 8,847)."
    ),
    force: bool = FORCE,
    skip_missing_images: bool = SKIP_MISSING,
    progress: bool = PROGRESS,
) -> None:
    """Fashion-IQ: relative-caption pairs, attribute words as image descriptions."""
    _run(
        "fashioniq",
        root,
        out,
        force,
        categories=categories,
        split=split,
        require_side_info=require_side_info,
        skip_missing_images=skip_missing_images,
        show_progress=progress,
    )


@load_app.command("css")
def css(
    root: Path = ROOT,
    out: Path = OUT,
    data_file: Path | None = typer.Option(
        None,
        help="css_toy_dataset_novel2_small.dup.npy if not in ROOT (a pickle: trusted files only).",
    ),
    split: str = typer.Option("train,test", help="Splits, comma-separated."),
    force: bool = FORCE,
    skip_missing_images: bool = SKIP_MISSING,
    progress: bool = PROGRESS,
) -> None:
    """CSS (TIRG's release): modification pairs, object lists as descriptions."""
    _run(
        "css",
        root,
        out,
        force,
        data_file=data_file,
        split=split,
        skip_missing_images=skip_missing_images,
        show_progress=progress,
    )


@load_app.command("clevr")
def clevr(
    root: Path = ROOT,
    out: Path = OUT,
    split: str = typer.Option("train,val", help="Splits, comma-separated."),
    reachability: bool = typer.Option(
        False, help="Also compute reachable neighbours (objects matched by list index)."
    ),
    force: bool = FORCE,
    skip_missing_images: bool = SKIP_MISSING,
    progress: bool = PROGRESS,
) -> None:
    """CLEVR v1.0: real renders, each described by a sentence from its scene."""
    _run(
        "clevr",
        root,
        out,
        force,
        split=split,
        reachability=reachability,
        skip_missing_images=skip_missing_images,
        show_progress=progress,
    )


@load_app.command("folder")
def folder(
    root: Path = typer.Argument(..., help="A folder of images (searched recursively)."),
    out: Path = OUT,
    captions: Path | None = typer.Option(
        None,
        help="Captions table: CSV, TSV, JSONL or parquet, one row per caption "
        "(several per image allowed), paths relative to ROOT.",
    ),
    path_column: str = typer.Option("path", help="The captions table's image column."),
    caption_column: str = typer.Option("caption", help="The captions table's text column."),
    labels_from_folders: bool = typer.Option(
        False, help="Label each image by its first sub-folder (ImageFolder convention)."
    ),
    pairs: Path | None = typer.Option(
        None, help="Modification triplets table: source, target, text (optional split)."
    ),
    skip_bad_images: bool = typer.Option(
        False, help="Skip unreadable or truncated images (counted) instead of failing."
    ),
    force: bool = FORCE,
    progress: bool = PROGRESS,
) -> None:
    """Your own photos: every image under ROOT, captions from sidecar .txt files (photo.jpg
    + photo.txt) and/or a table, labels from sub-folders. Nothing is copied."""
    _run(
        "folder",
        root,
        out,
        force,
        captions=captions,
        path_column=path_column,
        caption_column=caption_column,
        labels_from_folders=labels_from_folders,
        pairs=pairs,
        skip_bad_images=skip_bad_images,
        show_progress=progress,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(load_app, name="load")
