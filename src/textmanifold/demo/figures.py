"""The demo's figures, drawn from the run directory's graphs, embeddings and Collections.

- ``paths.png``: smooth shortest paths on the CCI image + text graph (the paper's Fig. 1);
- ``neighbours.png``: geodesic path to the nearest target vs the Euclidean nearest target
  on the category set's Joint graph (Fig. 3);
- ``retrievable.png`` and ``degree.png``: retrievable query images and mean degree
  against the threshold, Image vs Joint graphs of the category set.

A figure whose examples do not exist (no smooth path through text, say) is left out and
the report says so in its notes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .. import io
from ..collection import Collection, item_id_of_row, item_of_row, load_embedding, read_collection
from ..synth.render import render
from ..synth.scene import Scene
from ..viz.curves import plot_degree_vs_threshold, plot_retrievable_vs_threshold
from ..viz.examples import find_smooth_paths, neighbour_examples
from ..viz.tiles import Tile, plot_neighbour_examples, plot_path_strips
from .layout import Demo, cci_vertex_sets, graph_path, label_texts, space_path, trained_models


class VertexTiles:
    """Tiles for the vertices of one Collection's graph, given each vertex's row id.

    An image vertex shows its image file; a text vertex shows the rendering of the scene
    it describes, with the sentence as caption.
    """

    def __init__(self, coll: Collection, ids: list[str], width: int, height: int):
        self.coll, self.ids = coll, ids
        self.items = {it.id: it for it in coll.items}
        self.width, self.height = width, height

    def __call__(self, vertex: int, caption_images: bool = False) -> Tile:
        item = item_of_row(self.items, self.ids[vertex], str(self.coll.root))
        if item.modality == "image":  # a "text:<id>" row comes back as a text item
            with Image.open(self.coll.image_path(item)) as picture:
                pixels = np.asarray(picture.convert("RGB"))
            label = f"{item.id}" + (f" ({item.labels[0]})" if item.labels else "")
            return Tile(pixels, "image", label if caption_images else item.id)
        scene = Scene.from_clevr_json(self.coll.scenes[item.scene])
        caption = item.text + (f" ({item.labels[0]})" if item.labels else "")
        return Tile(render(scene, self.width, self.height), "text", caption)


def make_figures(demo: Demo) -> list[dict]:
    """Draw every figure into ``report/figures``; return ``[{path, caption}]``."""
    figures_dir = demo.out / "report" / "figures"
    figures = []
    for draw in (_path_strips, _neighbours, _curves):
        figures += draw(demo, figures_dir)
    return figures


def _ids(demo: Demo, dataset: str) -> tuple[list[str], int]:
    """Row ids of ``[image; text]`` vertices and the number of images."""
    _, image_ids = load_embedding(space_path(demo, dataset, "image"))
    _, text_ids = load_embedding(space_path(demo, dataset, "text"))
    return image_ids + text_ids, len(image_ids)


def _path_strips(demo: Demo, out: Path) -> list[dict]:
    thresholds = demo.results["graphs"]["thresholds"]
    middle = len(thresholds) // 2
    graph = io.load_sparse(graph_path(demo, "image_text", middle))
    _, scene, is_image = cci_vertex_sets(demo)["image_text"]
    coll = read_collection(demo.data("cci"))
    paths = find_smooth_paths(
        graph,
        scene,
        is_image,
        coll.reachable(),
        max_paths=3,
        seed=demo.config.seed,
        rule=demo.config.smooth_rule,
    )
    if not paths:
        return []
    ids, _ = _ids(demo, "cci")
    tiles = VertexTiles(coll, ids, demo.config.render_width, demo.config.render_height)
    path = out / "paths.png"
    plot_path_strips(
        [[tiles(v) for v in p] for p in paths],
        path,
        title=f"Smooth paths on CCI (image + text graph, threshold "
        f"{thresholds[middle]:.3f})\nblue: image vertex, red: text vertex",
    )
    return [
        {
            "path": "figures/paths.png",
            "caption": "Smooth shortest paths between two images through text vertices "
            "(text vertices shown as the rendering of the scene they describe).",
        }
    ]


def _neighbours(demo: Demo, out: Path) -> list[dict]:
    from ..manifold.graph import great_circle_graph

    labels_result = demo.results["label_retrieval"]
    split = labels_result["split"]
    threshold = labels_result["joint_threshold"]
    image, image_ids = load_embedding(space_path(demo, "classes", "image"))
    text, text_ids = label_texts(demo)
    X = np.concatenate([image, text])
    graph = great_circle_graph(X, threshold=threshold)
    coll = read_collection(demo.data("classes"))
    ids = image_ids + text_ids
    by_id = {it.id: it for it in coll.items}
    labels = [by_id[item_id_of_row(i)].labels[0] for i in ids]
    examples = neighbour_examples(
        graph, np.array(split["targets"]), np.array(split["queries"]), X, labels, max_examples=3
    )
    if not examples:
        return []
    tiles = VertexTiles(coll, ids, demo.config.render_width, demo.config.render_height)
    path = out / "neighbours.png"
    plot_neighbour_examples(
        [
            ([tiles(v, caption_images=True) for v in p], tiles(e, caption_images=True))
            for p, e in examples
        ],
        path,
    )
    return [
        {
            "path": "figures/neighbours.png",
            "caption": "Category set, Joint graph: the geodesic path from a query image to "
            "its nearest labelled target, and the Euclidean nearest target "
            "(last column).",
        }
    ]


def _curves(demo: Demo, out: Path) -> list[dict]:
    curves = demo.results["label_retrieval"]["curves"]
    plot_retrievable_vs_threshold(
        curves["thresholds"],
        curves["retrievable"],
        out / "retrievable.png",
        n_queries=curves["queries"],
    )
    plot_degree_vs_threshold(curves["thresholds"], curves["mean_degree"], out / "degree.png")
    return [
        {
            "path": "figures/retrievable.png",
            "caption": "Category set: query images with a labelled target in their connected "
            "component, against the threshold, for the Image and Joint graphs.",
        },
        {
            "path": "figures/degree.png",
            "caption": "Category set: mean degree of the Image and Joint graphs against the "
            "threshold.",
        },
    ]


def learning_curves_figure(demo: Demo) -> list[dict]:
    """``learning_curves.png``: every model's validation curve, one line per seed."""
    from ..viz.learning import plot_learning_curves

    curves: dict[str, dict[int, list[dict]]] = {}
    for model, seed, summary in trained_models(demo):
        curves.setdefault(model, {})[seed] = summary.get("curve") or []
    if not any(any(c.values()) for c in curves.values()):
        return []
    plot_learning_curves(curves, demo.out / "report" / "figures" / "learning_curves.png")
    return [
        {
            "path": "figures/learning_curves.png",
            "caption": "Learning curves: R@1 and loss on each model's held-out pairs "
            "against SGD steps, one line per training seed (joint models: "
            "image to description; compositors: composed query to target).",
        }
    ]
