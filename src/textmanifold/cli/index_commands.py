"""The search engine's commands: ``index build|add|info`` and ``search``.

Thin wiring over :class:`textmanifold.index.ManifoldIndex`; torch loads only when a run
embeds something.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from .. import io
from ..errors import InputError
from ..outputs import check_output_dir
from ._options import DEGREE, FORCE, PROGRESS, THRESHOLD

index_app = typer.Typer(
    help="Build and inspect search indexes (a persistent manifold).", no_args_is_help=True
)

IMAGE_EMB = typer.Option(
    None,
    "--image-embeddings",
    help="Image embeddings .npy (ids in .ids.json) instead of embedding with the run.",
)
TEXT_EMB = typer.Option(
    None,
    "--text-embeddings",
    help="Text embeddings .npy; row 'text:<image id>' is that image's description.",
)
DEFAULT_DEGREE = 10.0


def _embeddings(image: Path | None, text: Path | None) -> dict:
    if text is not None and image is None:
        raise InputError("--text-embeddings needs --image-embeddings")
    return {"image_embeddings": image, "text_embeddings": text}


@index_app.command("build")
def build(
    collection: Path = typer.Argument(..., help="The Collection to index."),
    run: Path = typer.Argument(
        None,
        help="A trained joint run (or compose run --in-joint): "
        "embeds the collection and later queries.",
    ),
    out: Path = typer.Option(..., "--out", help="Index directory to write."),
    threshold: float = THRESHOLD,
    target_degree: float = DEGREE,
    image_embeddings: Path = IMAGE_EMB,
    text_embeddings: Path = TEXT_EMB,
    align: bool = typer.Option(
        True, "--align/--no-align", help="ICP-align images onto their descriptions."
    ),
    force: bool = FORCE,
    device: str = typer.Option("cpu", "--device", help="Torch device for embedding."),
    encoder: str = typer.Option(
        None,
        "--encoder",
        show_default=False,
        help="Embed with a pretrained encoder instead of a RUN: 'open_clip:MODEL' (an "
        "open_clip architecture such as ViT-B-32, or a JSON config file) with "
        "--pretrained, or 'sentence-transformers' (the bundled MiniLM for text, "
        "--image-encoder for images). With --image-embeddings it only embeds "
        "queries.",
    ),
    pretrained: Path = typer.Option(
        None,
        "--pretrained",
        help="Local weights file of --encoder open_clip:MODEL (never downloaded).",
    ),
    image_encoder: str = typer.Option(
        None,
        "--image-encoder",
        help="module:function embedding a list of PIL images "
        "(with --encoder sentence-transformers).",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Embed a collection with a run or an encoder, align, build the graph, write a
    self-describing index.

    Without --threshold or --target-degree, the target degree is 10. The write is
    atomic: OUT always names a complete index, the old one or the new one. --force
    replaces an existing index in OUT and nothing else: an OUT that holds a Collection,
    a run or other files is refused before any work. Finished embedding blocks are kept
    in OUT.partial, so running the same command again after an interruption resumes
    there; a successful build removes OUT.partial and the temporary directories an
    interrupted one left beside OUT.
    """
    from ..index import ManifoldIndex
    from ..index.store import check_replaceable
    from ..index.vertices import check_work_dir, remove_work_dir

    work = out.with_name(out.name + ".partial")  # finished embedding blocks, for a rerun
    check_output_dir(out, "--out", allow_nonempty=True)
    check_output_dir(work, "--out", allow_nonempty=True)
    if out.exists() and not force and any(out.iterdir()):
        raise InputError(f"--out {out}: already exists; pass --force to replace the index")
    check_replaceable(out)
    check_work_dir(work)
    if threshold is not None and target_degree is not None:
        raise InputError("give at most one of --threshold and --target-degree")
    if threshold is None and target_degree is None:
        target_degree = DEFAULT_DEGREE
    if run is None and image_embeddings is None and encoder is None:
        raise InputError(
            "give a RUN or an --encoder to embed the collection, or --image-embeddings"
        )
    if run is not None and encoder is not None:
        raise InputError("give a RUN or an --encoder, not both")
    if encoder is None and (pretrained is not None or image_encoder is not None):
        raise InputError("--pretrained and --image-encoder go with --encoder")
    if encoder is not None:
        from ..index.pretrained import parse_encoder
        from ..models.train import resolve_device

        encoder = parse_encoder(
            encoder,
            pretrained=pretrained,
            image_encoder=image_encoder,
            device=str(resolve_device(device)),
        )
    index = ManifoldIndex.build(
        collection,
        run,
        threshold=threshold,
        target_degree=target_degree,
        align=align,
        progress=progress,
        work_dir=work,
        device=device,
        encoder=encoder,
        **_embeddings(image_embeddings, text_embeddings),
    )
    index.save(out, force=force)
    remove_work_dir(work)
    counts, aligned = index.manifest["counts"], index.manifest["align"]
    typer.echo(
        f"{out}: {counts['images']} images, {counts['texts']} texts, "
        f"{counts['edges']} edges, threshold {index.threshold:.4f} rad"
        + (f", aligned on {aligned['pairs']} image-description pairs" if aligned else "")
        + f"; queries: {', '.join(index.query_kinds)}"
    )


@index_app.command("add")
def add(
    index_dir: Path = typer.Argument(..., metavar="INDEX", help="An index directory."),
    collection: Path = typer.Argument(
        None, help="Collection whose items to add (embedded with the index's run)."
    ),
    image_embeddings: Path = IMAGE_EMB,
    text_embeddings: Path = TEXT_EMB,
    replace: bool = typer.Option(
        False,
        "--replace",
        help="Replace indexed items whose id comes with another "
        "image, text, labels or vector (default: refuse).",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Add images and sentences to an index: new vertices and edges, no rebuild.

    Existing ids keep their vectors and edges, and items already indexed are skipped; an
    id that comes with another item is refused (or replaced with --replace). The index
    directory is replaced atomically.
    """
    from ..index import ManifoldIndex

    check_output_dir(index_dir, "INDEX", allow_nonempty=True)
    index = ManifoldIndex.load(index_dir, mmap=False)
    before = index.manifest["counts"]
    if collection is None and image_embeddings is None:
        raise InputError("give a COLLECTION or --image-embeddings to add")
    added = index.add(
        collection,
        progress=progress,
        replace=replace,
        **_embeddings(image_embeddings, text_embeddings),
    )
    if added:
        index.save(index_dir, force=True)
    after = index.manifest["counts"]
    typer.echo(
        f"{index_dir}: +{after['images'] - before['images']} images, "
        f"+{after['texts'] - before['texts']} texts, "
        f"+{after['edges'] - before['edges']} edges ({added} vertices added or "
        "replaced)"
    )


@index_app.command("info")
def info(
    index_dir: Path = typer.Argument(..., metavar="INDEX", help="An index directory."),
) -> None:
    """Print the manifest and graph statistics (JSON)."""
    from ..index import ManifoldIndex

    index = ManifoldIndex.load(index_dir)
    typer.echo(io.dumps_json({"manifest": index.manifest, "graph": index.stats()}), nl=False)


def search(
    index_dir: Path = typer.Argument(..., metavar="INDEX", help="An index directory."),
    image: Path = typer.Option(None, "--image", help="Query image file."),
    text: str = typer.Option(None, "--text", help="Query sentence."),
    id: str = typer.Option(None, "--id", help="Query by an indexed item's id."),
    vector: Path = typer.Option(
        None, "--vector", help="Query vector: a .npy of shape (d,) in the index's space."
    ),
    modify: str = typer.Option(
        None,
        "--modify",
        help="With --image or --id: the modification text (composed "
        "query; needs an index of a compose run --in-joint).",
    ),
    k: int = typer.Option(10, "--k", help="Images to return."),
    metric: str = typer.Option("geodesic", "--metric", help="geodesic, euclidean or both."),
    paths: bool = typer.Option(False, "--paths", help="Show the path from the query."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Search an index with an image, a sentence, an id or an image plus a modification.

    A new image or sentence is embedded with the index's run and attached to the graph
    out of sample. Distances are radians; unreachable images are listed as such.
    """
    from ..index import ManifoldIndex
    from ..index.results import format_table

    index = ManifoldIndex.load(index_dir)
    query = None
    if vector is not None:
        query = io.load_npy(vector)
        if query.ndim != 1:
            raise InputError(f"{vector}: the query vector must have shape (d,), got {query.shape}")
        query = np.asarray(query, dtype=np.float64)
    result = index.search(
        image=image,
        text=text,
        id=id,
        vector=query,
        modify=modify,
        k=k,
        metric=metric,
        return_paths=paths,
    )
    if as_json:
        typer.echo(io.dumps_json(result.to_dict()), nl=False)
    else:
        typer.echo(format_table(result, paths=paths), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
    app.command("search")(search)
