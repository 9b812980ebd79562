"""The demo's run directory: where each stage writes, and the vertex sets read back from it.

Layout of the run directory::

    demo.json                         the fingerprint and settings of the run
    stages/<name>.json                a done stage's result and wall time
    stages/<name>/seed<s>.json        a per-seed stage's result for training seed s
    data/cci, data/classes            the two generated Collections (one for all seeds)
    runs/seed<s>/joint_<set>          joint-model runs (checkpoints, embeddings/)
    runs/seed<s>/compose_<method>[_joint]   compositor runs
    embeddings/seed<s>/<set>/         aligned spaces: image (T(Psi)), text (Phi),
                                      image_pretrained (Psi'), and random (CCI)
    graphs/seed<s>/                   the CCI graphs of Table 3
    report/                           report.md, report.json, index.html, figures/
    index/                            the search index of the first seed's CCI joint run
    cache/sentences                   the sentence encoder's cache
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..collection import Collection, item_of_row, load_embedding, read_collection
from ..errors import InputError
from .config import DemoConfig

# What --force removes: only what the demo itself writes, never the whole directory.
OWNED = ("demo.json", "stages", "data", "runs", "embeddings", "graphs", "report", "cache", "index")
DATASETS = ("cci", "classes")


@dataclass
class Demo:
    """One run directory: paths, config, and the results of the stages done so far.

    ``training_seed`` is None for the run as a whole; :meth:`seeded` gives the view of
    one training seed, whose ``run``, :func:`space_path` and :func:`graph_path` lie in
    that seed's directories and whose ``results`` hold that seed's part of every
    per-seed stage.
    """

    out: Path
    config: DemoConfig
    progress: bool = True
    log: Callable[[str], None] = field(
        default=lambda line: print(line, file=sys.stderr, flush=True)
    )
    results: dict[str, dict] = field(default_factory=dict)
    training_seed: int | None = None

    def seeded(self, seed: int) -> Demo:
        """The view of training seed ``seed`` (see the class)."""
        results = {
            name: r["per_seed"][str(seed)] if "per_seed" in r else r
            for name, r in self.results.items()
        }
        return replace(self, training_seed=seed, results=results)

    @property
    def seed_dir(self) -> str:
        """``seed<s>``: the directory name of this view's training seed."""
        if self.training_seed is None:
            raise InputError("a per-seed path was asked of the whole run (use seeded())")
        return f"seed{self.training_seed}"

    def marker(self, stage: str) -> Path:
        """``stages/<stage>.json``: present once the stage is done (for every seed)."""
        return self.out / "stages" / f"{stage}.json"

    def seed_marker(self, stage: str) -> Path:
        """``stages/<stage>/seed<s>.json``: present once this seed's part is done."""
        return self.out / "stages" / stage / f"{self.seed_dir}.json"

    def data(self, name: str) -> Path:
        """``data/<name>``: a generated Collection."""
        return self.out / "data" / name

    def run(self, name: str) -> Path:
        """``runs/seed<s>/<name>``: a training run of this view's seed."""
        return self.out / "runs" / self.seed_dir / name

    @property
    def sentence_cache(self) -> Path:
        """``cache/sentences``: the sentence encoder's cache, shared by the runs."""
        return self.out / "cache" / "sentences"


def trained_models(demo: Demo) -> list[tuple[str, int, dict]]:
    """``(model, seed, training summary)`` of every model the training stages trained:
    ``joint_<set>`` and the compositors' run names without ``compose_``."""
    found = []
    for stage, prefix in (("train_joint", "joint_"), ("train_compose", "")):
        for seed, models in demo.results[stage]["per_seed"].items():
            found += [
                (prefix + name.removeprefix("compose_"), int(seed), summary)
                for name, summary in models.items()
            ]
    return found


def space_path(demo: Demo, dataset: str, space: str) -> Path:
    """``embeddings/seed<s>/<dataset>/<space>.npy``: one aligned space of one set."""
    return demo.out / "embeddings" / demo.seed_dir / dataset / f"{space}.npy"


def graph_path(demo: Demo, kind: str, index: int) -> Path:
    """``graphs/seed<s>/cci_<kind>_<index>.npz``: one of Table 3's CCI graphs."""
    return demo.out / "graphs" / demo.seed_dir / f"cci_{kind}_{index}.npz"


def vertex_scenes(coll: Collection, ids: list[str]) -> np.ndarray:
    """The scene each embedding row shows: its item's, or for ``text:<id>`` that image's.

    Scenes of one content (possible with ``--repeat-scenes``) are mapped to the first of
    them (:func:`~textmanifold.synth.reachability.content_scene_index`), so the smooth-path
    rules treat two images of one content as one scene.
    """
    from ..synth.reachability import content_scene_index

    items = {it.id: it for it in coll.items}
    rows = np.array([item_of_row(items, i, str(coll.root)).scene for i in ids], dtype=np.int64)
    return content_scene_index(coll.scenes)[rows] if coll.scenes else rows


def cci_vertex_sets(demo: Demo) -> dict:
    """Table 3's vertex sets on CCI (:func:`.evaluate.smooth_path_table.vertex_sets`),
    the shuffled-text control's scenes drawn from the run's seed."""
    from ..evaluate.smooth_path_table import shuffled_scenes, vertex_sets

    coll = read_collection(demo.data("cci"))
    image, image_ids = load_embedding(space_path(demo, "cci", "image"))
    text, text_ids = load_embedding(space_path(demo, "cci", "text"))
    random_points, _ = load_embedding(space_path(demo, "cci", "random"))
    text_scene = vertex_scenes(coll, text_ids)
    shuffled = shuffled_scenes(text_scene, np.random.default_rng([demo.config.seed, 4]))
    return vertex_sets(
        image, text, vertex_scenes(coll, image_ids), text_scene, random_points, shuffled
    )


def label_texts(demo: Demo) -> tuple[np.ndarray, list[str]]:
    """The category set's text vertices of the Joint graph and their ids.

    ``label_texts="descriptions"``: one description per image (in image order), as the
    paper's one side-information text per image; ``"all"``: every text row (the image
    descriptions and the description-only scenes).
    """
    from ..collection import description_rows

    text, text_ids = load_embedding(space_path(demo, "classes", "text"))
    if demo.config.label_texts == "all":
        return text, text_ids
    if demo.config.label_texts != "descriptions":
        raise InputError(
            f"label_texts must be 'descriptions' or 'all', got {demo.config.label_texts!r}"
        )
    _, image_ids = load_embedding(space_path(demo, "classes", "image"))
    rows = description_rows(image_ids, text_ids)
    return text[rows], [text_ids[r] for r in rows]
