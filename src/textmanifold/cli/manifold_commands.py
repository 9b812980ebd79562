"""Commands on plain embedding files: ``align``, ``graph build``, ``retrieve``,
``paths count``, ``label-retrieval``.

An embedding file is ``<space>.npy`` (float rows) with its row ids in ``<space>.ids.json``,
or a sharded directory (:func:`textmanifold.collection.load_embedding`); ``items.jsonl``
gives each id's ``labels``, ``modality`` and ``scene``. A text row whose id is
``text:<image id>`` is that image's description and shows that image's scene. Results are
printed as JSON (the label-retrieval table as Markdown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from .. import collection, io
from ..collection import Item
from ..errors import InputError, MissingFileError
from ..outputs import check_output_file
from ..validation import check_option
from ._options import DEGREE, PROGRESS, SEED, THRESHOLD

graph_app = typer.Typer(help="Great-circle graphs on the unit sphere.", no_args_is_help=True)
paths_app = typer.Typer(help="Smooth shortest paths (CCI).", no_args_is_help=True)

BACKEND = typer.Option(
    "auto", "--backend", help="Exact neighbour search: auto (faiss if installed), numpy or faiss."
)
BUILD = typer.Option(
    "auto",
    "--build",
    help="Graph build: exact (every pair), forest (pairs from random-projection trees and "
    "neighbours of neighbours), approximate (pairs from nearby k-means cells; FAISS) or "
    "auto (forest from 200,000 vertices). forest and approximate keep only exact edges, "
    "at a recall of 0.995 on a calibration sample; the recall is printed.",
)
NORMALIZE = typer.Option(False, "--normalize", help="L2-normalise rows first.")
EDGE_RULE = ("--threshold", "--target-degree")  # what check_edge_rule calls them here


# ----------------------------------------------------------------------------- files


def read_items(path: Path) -> dict[str, Item]:
    """``items.jsonl`` by id (:func:`textmanifold.collection.read_items`; image paths
    optional: only labels, modality and scene are used here)."""
    return {item.id: item for item in collection.read_items(path, require_paths=False)}


def load_space(path: Path, normalize: bool = False) -> tuple[np.ndarray, list[str]]:
    """An embedding and its ids; rows checked (and normalised) for the unit sphere."""
    from ..collection import load_embedding
    from ..manifold.graph import check_unit_rows

    X, ids = load_embedding(path)
    return check_unit_rows(X, normalize=normalize, name=str(path)), ids


def read_ids(path: Path) -> list[str]:
    """Ids from a text file, one a line (blank lines skipped)."""
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def item_of(items: dict[str, Item], row_id: str, source: Path) -> Item:
    """The item of an embedding row of ``source`` (:func:`.collection.item_of_row`)."""
    return collection.item_of_row(items, row_id, str(source.with_suffix(".ids.json")))


def load_spaces(paths: list[Path], normalize: bool) -> list[tuple[np.ndarray, list[str]]]:
    """Several embeddings that are vertices of one graph: same width, no id twice."""
    spaces = [load_space(path, normalize) for path in paths]
    for path, (X, _) in zip(paths[1:], spaces[1:], strict=True):
        if X.shape[1] != spaces[0][0].shape[1]:
            raise InputError(
                f"{path} has dimension {X.shape[1]} but {paths[0]} has {spaces[0][0].shape[1]}"
            )
    seen: dict[str, Path] = {}
    for path, (_, ids) in zip(paths, spaces, strict=True):
        for row_id in ids:
            if row_id in seen:
                raise InputError(
                    f"{path}: row id {row_id!r} is also a row of {seen[row_id]} "
                    "(the same vertex given twice?)"
                )
            seen[row_id] = path
    return spaces


def _echo_json(obj) -> None:
    typer.echo(io.dumps_json(obj), nl=False)


# ----------------------------------------------------------------------------- commands


def align(
    image: Path = typer.Option(..., "--image", help="Image embeddings Psi (.npy with .ids.json)."),
    text: Path = typer.Option(
        ...,
        "--text",
        help="Text embeddings Phi; row 'text:<image id>' is that image's description.",
    ),
    out: Path = typer.Option(..., "--out", help="Aligned image embeddings T(Psi) to write."),
    correspondence: str = typer.Option(
        "paired",
        "--correspondence",
        help="paired: each image with its description (the "
        "paper); nearest: unpaired ICP on every text row.",
    ),
    normalize: bool = NORMALIZE,
) -> None:
    """ICP: map the image cloud onto the text cloud (Algorithm 1) and write T(Psi).

    The output has the image file's row ids; give it to graph build, retrieve and
    label-retrieval as the image space. Prints the mean paired cosine before and after.
    """
    from ..collection import description_id, description_rows, save_embedding
    from ..manifold.align import CORRESPONDENCES, align_to_descriptions

    check_output_file(out, "--out")
    check_option("--correspondence", correspondence, CORRESPONDENCES)
    X, image_ids = load_space(image, normalize)
    T, text_ids = load_space(text, normalize)
    if X.shape[1] != T.shape[1]:
        raise InputError(f"{image} has dimension {X.shape[1]} but {text} has {T.shape[1]}")
    known = set(text_ids)
    described = all(description_id(i) in known for i in image_ids)
    # Paired needs every description (the error names the first missing one); unpaired
    # uses them, when all are there, only to report the paired cosines.
    rows = (
        description_rows(image_ids, text_ids, str(text))
        if correspondence == "paired" or described
        else None
    )
    aligned, summary = align_to_descriptions(X, T, rows, correspondence=correspondence)
    save_embedding(out, aligned, image_ids)
    _echo_json({"aligned": str(out), "rows": len(image_ids), **summary})


@graph_app.command("build")
def graph_build(
    embeddings: Path = typer.Argument(..., help="Embedding .npy (rows = vertices)."),
    out: Path = typer.Option(..., "--out", help="Graph file to write (.npz, CSR)."),
    threshold: float = THRESHOLD,
    target_degree: float = DEGREE,
    backend: str = BACKEND,
    build: str = BUILD,
    normalize: bool = NORMALIZE,
) -> None:
    """Join rows closer than a great-circle threshold; edge weight = distance (radians).

    Prints the graph's size and threshold, the build used and, for an approximate
    build (forest or approximate), its edge recall measured by brute force on a sample of vertices.
    """
    from ..manifold.approximate import sampled_edge_recall
    from ..manifold.graph import (
        SAMPLED_BUILDS,
        build_graph,
        check_edge_rule,
        check_unit_rows,
        graph_build,
        mean_degree,
    )
    from ..shards import load_vectors

    check_output_file(out, "--out")
    check_edge_rule(threshold, target_degree, EDGE_RULE)
    X = check_unit_rows(load_vectors(embeddings), normalize=normalize, name=str(embeddings))
    method = graph_build(build, backend, len(X))
    graph, used = build_graph(
        X, threshold=threshold, target_degree=target_degree, backend=backend, build=method
    )
    io.save_sparse(out, graph)
    report = {
        "graph": str(out),
        "vertices": graph.shape[0],
        "edges": graph.nnz // 2,
        "mean_degree": mean_degree(graph),
        "threshold": used,
        "build": method,
    }
    if method in SAMPLED_BUILDS:  # measured on a sample of vertices, by brute force
        report["sampled_edge_recall"] = sampled_edge_recall(X, graph, used)
    _echo_json(report)


def retrieve(
    embeddings: Path = typer.Option(..., "--embeddings", help="Image embedding .npy."),
    items_path: Path = typer.Option(..., "--items", help="items.jsonl with labels."),
    aux: Path = typer.Option(None, "--aux", help="Extra pass-through vertices (text .npy)."),
    query: list[str] = typer.Option(None, "--query", help="Query id (repeatable)."),
    queries_file: Path = typer.Option(None, "--queries-file", help="Query ids, one a line."),
    k: int = typer.Option(1, "--k", min=1, help="Neighbours (labelled targets) per query."),
    threshold: float = THRESHOLD,
    target_degree: float = DEGREE,
    backend: str = BACKEND,
    build: str = BUILD,
    normalize: bool = NORMALIZE,
) -> None:
    """Geodesic k-NN: each query's nearest labelled targets and their majority label.

    Targets are the rows of --embeddings whose item has labels, queries excepted; the
    default queries are the rows without labels. All rows (and --aux rows) are vertices.
    """
    from ..manifold.graph import check_edge_rule
    from ..manifold.retrieval import retrieve_labelled

    check_edge_rule(threshold, target_degree, EDGE_RULE)
    items = read_items(items_path)
    spaces = load_spaces([embeddings] + ([aux] if aux is not None else []), normalize)
    X, ids = spaces[0]
    labels = [item_of(items, i, embeddings).labels for i in ids]
    wanted = list(query or []) + (read_ids(queries_file) if queries_file is not None else [])
    found = retrieve_labelled(
        X,
        ids,
        labels,
        wanted,
        X_aux=spaces[1][0] if aux is not None else None,
        k=k,
        threshold=threshold,
        target_degree=target_degree,
        backend=backend,
        build=build,
        name=str(embeddings),
    )
    _echo_json(found.to_json())


@paths_app.command("count")
def paths_count(
    items_path: Path = typer.Option(..., "--items", help="items.jsonl with scenes."),
    reachable: Path = typer.Option(..., "--reachable", help="reachable.npz (scene x scene)."),
    embeddings: list[Path] = typer.Option(
        ..., "--embeddings", help="Vertex .npy files (repeatable), in order."
    ),
    graph_path: Path = typer.Option(
        None, "--graph", help="Graph .npz over those rows (else built here)."
    ),
    threshold: float = THRESHOLD,
    target_degree: float = DEGREE,
    backend: str = BACKEND,
    build: str = BUILD,
    normalize: bool = NORMALIZE,
    out: Path = typer.Option(None, "--out", help="Also write per-image counts (JSON)."),
    rule: str = typer.Option(
        "literal",
        help="Smooth-path rule: 'literal' (every step one change; a step "
        "between two vertices of the same scene breaks the path) or 'merged' (consecutive "
        "vertices of one scene are merged).",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Count smooth shortest paths between image vertices (both directions)."""
    from ..evaluate.path_count import smooth_path_count
    from ..manifold.graph import check_edge_rule

    if out is not None:
        check_output_file(out, "--out")
    items = read_items(items_path)
    spaces = load_spaces(list(embeddings), normalize)
    ids = [i for _, space_ids in spaces for i in space_ids]
    vertex_items = [
        item_of(items, i, path)
        for path, (_, space_ids) in zip(embeddings, spaces, strict=True)
        for i in space_ids
    ]
    no_scene = [i for i, it in zip(ids, vertex_items, strict=True) if it.scene is None]
    if no_scene:
        raise InputError(f"{items_path}: item {no_scene[0]!r} has no 'scene'")
    graph = None
    if graph_path is not None:
        graph = io.load_sparse(graph_path)
    else:
        check_edge_rule(threshold, target_degree, EDGE_RULE)
    result = smooth_path_count(
        [it.scene for it in vertex_items],
        [it.modality == "image" for it in vertex_items],
        reachable,
        graph=graph,
        X=None if graph is not None else np.concatenate([X for X, _ in spaces]),
        threshold=threshold,
        target_degree=target_degree,
        backend=backend,
        build=build,
        rule=rule,
        progress=progress,
        graph_name=str(graph_path),
    )
    if out is not None:
        io.write_json(out, {**result.summary, "per_source": result.per_image(ids)})
    _echo_json(result.summary)


def label_retrieval(
    image: Path = typer.Option(..., "--image", help="T(Psi): image embeddings after ICP."),
    items_path: Path = typer.Option(..., "--items", help="items.jsonl with labels."),
    n_way: int = typer.Option(None, "--n-way", help="Classes in the task (default: all)."),
    k_shot: int = typer.Option(..., "--k-shot", help="Targets per class."),
    text: Path = typer.Option(None, "--text", help="Phi: text embeddings (rows E, F)."),
    resnet: Path = typer.Option(None, "--resnet", help="Psi': pretrained features (row B)."),
    threshold: float = THRESHOLD,
    target_degree: float = DEGREE,
    seed: int = SEED,
    backend: str = BACKEND,
    normalize: bool = NORMALIZE,
    out: Path = typer.Option(None, "--out", help="Write the rows as JSON."),
) -> None:
    """Table 1 rows A-F. Each image is sampled under its first label (labels[0])."""
    from ..evaluate.label_retrieval import (
        label_retrieval_table,
        rows_for_images,
        table_to_markdown,
        write_table,
    )
    from ..manifold.graph import check_edge_rule

    if out is not None:
        check_output_file(out, "--out")
    check_edge_rule(threshold, target_degree, EDGE_RULE)
    items = read_items(items_path)
    X, ids = load_space(image, normalize)
    labels = [item_of(items, i, image).labels for i in ids]
    unlabelled = [i for i, lab in zip(ids, labels, strict=True) if not lab]
    if unlabelled:
        raise InputError(
            f"{items_path}: {len(unlabelled)} image rows have no labels (first: {unlabelled[0]!r})"
        )
    T = load_space(text, normalize)[0] if text is not None else None
    R = (
        rows_for_images(*load_space(resnet, normalize), ids, str(resnet))
        if resnet is not None
        else None
    )
    rows = label_retrieval_table(
        X,
        T,
        R,
        labels,
        n_way=n_way,
        k_shot=k_shot,
        threshold=threshold,
        target_degree=target_degree,
        seed=seed,
        sampling_labels=[lab[0] for lab in labels],
        backend=backend,
    )
    if out is not None:
        write_table(out, rows)
    typer.echo(table_to_markdown(rows), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(graph_app, name="graph")
    app.add_typer(paths_app, name="paths")
    app.command("align")(align)
    app.command("retrieve")(retrieve)
    app.command("label-retrieval")(label_retrieval)
