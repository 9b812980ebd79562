"""The stages of the demo: each ``stage_<name>(demo) -> dict`` does its work in the run
directory (:mod:`.layout`) and returns a JSON-able summary (stored in
``stages/<name>.json``). :data:`STAGE_TABLE` lists them in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import io
from ..collection import description_rows, load_embedding, read_collection, save_embedding
from .layout import DATASETS, Demo, cci_vertex_sets, graph_path, space_path

COMPOSITORS = (("tirg", False), ("tirg", True), ("relation", False), ("relation", True))
METHOD_NAMES = {"tirg": "TIRG", "relation": "Relation"}


# ----------------------------------------------------------------------------- data


def stage_cci(demo: Demo) -> dict:
    from ..synth.cci import generate_cci

    c = demo.config
    root = generate_cci(demo.data("cci"), depth=c.cci_depth, branching=c.cci_branching,
                        size=(c.render_width, c.render_height), seed=c.seed,
                        workers=c.workers, text_only_scenes=c.cci_text_only, resume=True,
                        progress=demo.progress)
    coll = read_collection(root)
    return {"images": len(coll.images()), "texts": len(coll.texts()),
            "train_pairs": len(coll.pairs_of("train")),
            "test_pairs": len(coll.pairs_of("test"))}


def stage_classes(demo: Demo) -> dict:
    from ..synth.classes import ClassesConfig, generate_classes

    c = demo.config
    config = ClassesConfig(n_classes=c.classes, images_per_class=c.images_per_class,
                           texts_per_class=c.texts_per_class, width=c.render_width,
                           height=c.render_height, seed=c.seed)
    coll = read_collection(generate_classes(demo.data("classes"), config, workers=c.workers,
                                            resume=True, progress=demo.progress))
    return {"classes": c.classes, "images": len(coll.images()), "texts": len(coll.texts())}


# ----------------------------------------------------------------------------- learning


def _settings(demo: Demo, steps: int, batch_size: int):
    from ..models.train import TrainSettings

    c = demo.config
    return TrainSettings(steps=steps, batch_size=batch_size, lr=c.lr,
                         temperature=c.temperature, image_size=c.image_size, seed=c.seed,
                         checkpoint_every=max(1, min(50, steps)), progress=demo.progress)


def stage_train_joint(demo: Demo) -> dict:
    from ..models import runs

    summary = {}
    for name in DATASETS:
        demo.log(f"  joint model on {name}")
        result = runs.train_joint(demo.data(name), demo.run(f"joint_{name}"),
                                  dim=demo.config.dim, text_cache=demo.sentence_cache,
                                  settings=_settings(demo, demo.config.joint_steps,
                                                     demo.config.batch_size),
                                  resume=True)
        summary[name] = _loss_summary(result)
    return summary


def _loss_summary(result) -> dict:
    losses = result.losses
    head = losses[:10] or [float("nan")]
    tail = losses[-10:] or [float("nan")]
    return {"steps": result.step, "first_loss": float(np.mean(head)),
            "last_loss": float(np.mean(tail)),
            "images_per_second": float(result.images_per_second)}


def compose_run_name(method: str, in_joint: bool) -> str:
    return f"compose_{method}" + ("_joint" if in_joint else "")


def stage_train_compose(demo: Demo) -> dict:
    from ..models import runs

    summary = {}
    for method, in_joint in COMPOSITORS:
        name = compose_run_name(method, in_joint)
        demo.log(f"  {name}")
        result = runs.train_compose(demo.data("cci"), demo.run(name), method=method,
                                    in_joint=in_joint, dim=demo.config.dim,
                                    settings=_settings(demo, demo.config.compose_steps,
                                                       demo.config.compose_batch_size),
                                    resume=True)
        summary[name] = _loss_summary(result)
    return summary


def stage_embed(demo: Demo) -> dict:
    from ..models.embed import embed_joint_run

    summary = {}
    for name in DATASETS:
        written = embed_joint_run(demo.data(name), demo.run(f"joint_{name}"),
                                  text_cache=demo.sentence_cache, progress=demo.progress)
        summary[name] = {space: len(load_embedding(path)[1]) for space, path in written.items()}
    return summary


# ----------------------------------------------------------------------------- geometry


def stage_align(demo: Demo) -> dict:
    """ICP (paired): rotate each image embedding onto its description's text embedding."""
    from ..manifold.align import align_to_descriptions

    summary = {}
    for name in DATASETS:
        raw = demo.run(f"joint_{name}") / "embeddings"
        image, image_ids = load_embedding(raw / "image.npy")
        text, text_ids = load_embedding(raw / "text.npy")
        rows = description_rows(image_ids, text_ids, str(raw / "text.npy"))
        aligned, summary[name] = align_to_descriptions(image, text, rows)
        save_embedding(space_path(demo, name, "image"), aligned, image_ids)
        save_embedding(space_path(demo, name, "text"), text, text_ids)
        pretrained, pre_ids = load_embedding(raw / "image_pretrained.npy")
        save_embedding(space_path(demo, name, "image_pretrained"), pretrained, pre_ids)
    return summary


def stage_graphs(demo: Demo) -> dict:
    """Five thresholds from the CCI image graph's mean degree; the 3 x 5 graphs."""
    from ..evaluate.smooth_path_table import (
        KINDS,
        build_graphs,
        random_like,
        thresholds_for_degrees,
    )
    from ..manifold.graph import mean_degree

    image, _ = load_embedding(space_path(demo, "cci", "image"))
    text, text_ids = load_embedding(space_path(demo, "cci", "text"))
    rng = np.random.default_rng([demo.config.seed, 3])
    save_embedding(space_path(demo, "cci", "random"), random_like(text, len(text), rng),
                   [f"random:{i}" for i in text_ids])
    thresholds = thresholds_for_degrees(image, demo.config.smooth_degrees)
    sets = cci_vertex_sets(demo)
    graphs = build_graphs(sets, thresholds, progress=demo.progress)
    degrees = {kind: [] for kind in KINDS}
    for (kind, i), graph in sorted(graphs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        io.save_sparse(graph_path(demo, kind, i), graph)
        degrees[kind].append(mean_degree(graph))
    return {"thresholds": thresholds, "mean_degree": degrees,
            "vertices": {kind: int(len(sets[kind][0])) for kind in KINDS}}


# ----------------------------------------------------------------------------- evaluation


def stage_smooth_paths(demo: Demo) -> dict:
    from ..evaluate.smooth_path_table import KINDS, smooth_path_rows

    sets, thresholds = cci_vertex_sets(demo), demo.results["graphs"]["thresholds"]
    graphs = {(kind, i): io.load_sparse(graph_path(demo, kind, i))
              for kind in KINDS for i in range(len(thresholds))}
    reachable = read_collection(demo.data("cci")).reachable()
    rows = smooth_path_rows(graphs, sets, reachable, thresholds, progress=demo.progress)
    return {"rows": rows}


def stage_composed(demo: Demo) -> dict:
    from ..models.embed import evaluate_compose_run

    rows = []
    for method, in_joint in COMPOSITORS:
        result = evaluate_compose_run(demo.run(compose_run_name(method, in_joint)),
                                      demo.data("cci"), progress=demo.progress)
        rows.append({"method": METHOD_NAMES[method], "in_joint": in_joint,
                     "R@1": result["R@1"], "R@10": result["R@10"], "R@50": result["R@50"],
                     "queries": result["queries"], "gallery": result["gallery"]})
    return {"rows": rows}


def stage_label_retrieval(demo: Demo) -> dict:
    """Table 1 rows A-F on the category set, and retrievable / degree curves."""
    from ..evaluate.fewshot import label_sets, primary_labels, sample_targets
    from ..evaluate.label_retrieval import label_retrieval_table
    from ..evaluate.retrievability import curve_thresholds, retrievable_curves

    c = demo.config
    coll = read_collection(demo.data("classes"))
    image, image_ids = load_embedding(space_path(demo, "classes", "image"))
    text, _ = load_embedding(space_path(demo, "classes", "text"))
    resnet, _ = load_embedding(space_path(demo, "classes", "image_pretrained"))
    by_id = {it.id: it for it in coll.items}
    labels = [by_id[i].labels for i in image_ids]
    rows = label_retrieval_table(image, text, resnet, labels, n_way=None, k_shot=c.k_shot,
                                 target_degree=c.label_degree, seed=c.seed)
    # The same split label_retrieval_table draws (same call, same seed), for the figures.
    split = sample_targets(primary_labels(label_sets(labels)), None, c.k_shot, c.seed)
    vertices = image[np.concatenate([split.targets, split.queries])]
    degrees = np.geomspace(0.25, min(16.0, 0.9 * (len(vertices) - 1)), c.curve_points)
    curves = retrievable_curves(vertices, text, len(split.targets),
                                curve_thresholds(vertices, degrees))
    sweep = [_sweep_row(d, label_retrieval_table(image, text, None, labels, n_way=None,
                                                 k_shot=c.k_shot, target_degree=d,
                                                 seed=c.seed))
             for d in c.label_sweep]
    joint_threshold = next(r["threshold"] for r in rows if r["row"] == "F")
    return {"rows": rows, "sweep": sweep, "curves": curves, "joint_threshold": joint_threshold,
            "split": {"targets": split.targets.tolist(), "queries": split.queries.tolist()}}


def _sweep_row(degree: float, rows: list[dict]) -> dict:
    """Rows C-F of one threshold, flattened: accuracies and retrievable counts."""
    by = {r["row"]: r for r in rows}
    return {"degree": float(degree), "threshold": by["D"]["threshold"],
            "queries": by["D"]["queries"],
            "image_retrievable": by["D"]["retrievable"],
            "joint_retrievable": by["F"]["retrievable"],
            **{key: by[key]["accuracy"] for key in "CDEF"}}


def stage_figures(demo: Demo) -> dict:
    from .figures import make_figures  # matplotlib: only when the stage runs

    return {"figures": make_figures(demo)}


def stage_report(demo: Demo) -> dict:
    from ..evaluate.report import write_report

    stages = [{"stage": name, "seconds": float(result["seconds"])}
              for name, result in demo.results.items() if name != "report"]
    labels = demo.results["label_retrieval"]
    results = {
        "label_retrieval": labels["rows"],
        "label_retrieval_sweep": labels["sweep"],
        "smooth_paths": demo.results["smooth_paths"]["rows"],
        "composed": demo.results["composed"]["rows"],
        "stages": stages,
        "figures": demo.results["figures"]["figures"],
        "curves": labels["curves"],
        "config": demo.config.to_record(),
        "notes": _notes(demo),
    }
    write_report(demo.out / "report", results)
    return {"report": str(demo.out / "report" / "index.html")}


def _notes(demo: Demo) -> dict:
    r = demo.results
    notes = {
        "CCI": f"{r['cci']['images']} images, {r['cci']['texts']} description-only "
               f"scenes, {r['cci']['train_pairs']} train and {r['cci']['test_pairs']} "
               "test pairs",
        "category set": f"{r['classes']['classes']} categories, {r['classes']['images']} "
                        f"images, {r['classes']['texts']} description-only scenes",
        "random points": "as many as text points, Gaussian with the text cloud's mean and "
                         "covariance, projected on the sphere; each stands for the scene "
                         "of the text point it replaces",
        "smooth path values": "log(1 + number of smooth shortest paths)",
    }
    for name in DATASETS:
        a, t = r["align"][name], r["train_joint"][name]
        notes[f"ICP on {name}"] = (
            f"mean cosine image-description {a['paired_cosine_before']:.3f} before, "
            f"{a['paired_cosine_after']:.3f} after alignment")
        notes[f"joint model on {name}"] = (
            f"{t['steps']} steps, loss {t['first_loss']:.3f} -> {t['last_loss']:.3f}")
    return notes


# The stages in the order they run: (name, function). ``run_demo`` walks this table.
STAGE_TABLE: tuple[tuple[str, Callable[[Demo], dict]], ...] = (
    ("cci", stage_cci),
    ("classes", stage_classes),
    ("train_joint", stage_train_joint),
    ("train_compose", stage_train_compose),
    ("embed", stage_embed),
    ("align", stage_align),
    ("graphs", stage_graphs),
    ("label_retrieval", stage_label_retrieval),
    ("smooth_paths", stage_smooth_paths),
    ("composed", stage_composed),
    ("figures", stage_figures),
    ("report", stage_report),
)
STAGES: tuple[str, ...] = tuple(name for name, _ in STAGE_TABLE)
