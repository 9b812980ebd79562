"""The stages of the demo: each ``stage_<name>(demo) -> dict`` does its work in the run
directory (:mod:`.layout`) and returns a JSON-able summary (stored in
``stages/<name>.json``). :data:`STAGE_TABLE` lists them in the order they run.

Training and everything computed from a trained model runs once per training seed
(:func:`each_seed`, the data fixed; the learning stages are :mod:`.training`); the
report averages the seeds' tables (:mod:`.over_seeds`).
"""

from __future__ import annotations

from collections.abc import Callable

from .. import io
from ..collection import description_rows, load_embedding, read_collection, save_embedding
from .layout import DATASETS, Demo, cci_vertex_sets, graph_path, space_path, trained_models
from .tables import random_points, table1, table3, table4
from .training import embed_joint_runs, train_compositors, train_joint_models

INDEX_DEGREE = 10.0  # the search index's mean degree (index build's default)

# ----------------------------------------------------------------------------- data


def stage_cci(demo: Demo) -> dict:
    from ..synth.cci import generate_cci

    c = demo.config
    root = generate_cci(
        demo.data("cci"),
        depth=c.cci_depth,
        branching=c.cci_branching,
        size=(c.render_width, c.render_height),
        seed=c.seed,
        workers=c.workers,
        text_only_scenes=c.cci_text_only,
        train_branches=c.cci_train_branches,
        resume=True,
        progress=demo.progress,
    )
    coll = read_collection(root)
    return {
        "images": len(coll.images()),
        "texts": len(coll.texts()),
        "train_pairs": len(coll.pairs_of("train")),
        "test_pairs": len(coll.pairs_of("test")),
    }


def stage_classes(demo: Demo) -> dict:
    from ..synth.classes import ClassesConfig, generate_classes

    c = demo.config
    config = ClassesConfig(
        n_classes=c.classes,
        images_per_class=c.images_per_class,
        texts_per_class=c.texts_per_class,
        width=c.render_width,
        height=c.render_height,
        seed=c.seed,
    )
    coll = read_collection(
        generate_classes(
            demo.data("classes"), config, workers=c.workers, resume=True, progress=demo.progress
        )
    )
    return {"classes": c.classes, "images": len(coll.images()), "texts": len(coll.texts())}


# ----------------------------------------------------------------------------- per seed


def each_seed(name: str, one_seed: Callable[[Demo], dict]) -> Callable[[Demo], dict]:
    """A stage that runs ``one_seed`` for every training seed, each seed's part stored in
    ``stages/<name>/seed<s>.json`` as it finishes (so a resumed run redoes only the
    seeds it had not done); its result is ``{"per_seed": {seed: part}}``."""
    from ..evaluate.report import json_safe

    def stage(demo: Demo) -> dict:
        per_seed = {}
        for seed in demo.config.training_seeds:
            view = demo.seeded(seed)
            marker = view.seed_marker(name)
            if marker.exists():
                per_seed[str(seed)] = io.read_json(marker)
                continue
            demo.log(f"  training seed {seed}")
            per_seed[str(seed)] = json_safe(one_seed(view))
            io.write_json(marker, per_seed[str(seed)])
        return {"per_seed": per_seed}

    stage.__doc__ = f"{one_seed.__doc__ or name} (for every training seed)"
    return stage


# ----------------------------------------------------------------------------- geometry


def align_spaces(demo: Demo) -> dict:
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


def table3_graphs(demo: Demo) -> dict:
    """Five thresholds from the CCI image graph's mean degree; the graphs of every vertex
    set (:data:`~textmanifold.evaluate.smooth_path_table.KINDS`) at each."""
    from ..evaluate.smooth_path_table import build_graphs, thresholds_for_degrees
    from ..manifold.graph import mean_degree

    image, _ = load_embedding(space_path(demo, "cci", "image"))
    _, text_ids = load_embedding(space_path(demo, "cci", "text"))
    points, sampler = random_points(demo)
    save_embedding(space_path(demo, "cci", "random"), points, [f"random:{i}" for i in text_ids])
    thresholds = thresholds_for_degrees(image, demo.config.smooth_degrees)
    sets = cci_vertex_sets(demo)
    graphs = build_graphs(sets, thresholds, progress=demo.progress)
    degrees: dict[str, list[float]] = {kind: [] for kind in sets}
    for (kind, i), graph in sorted(graphs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        io.save_sparse(graph_path(demo, kind, i), graph)
        degrees[kind].append(mean_degree(graph))
    return {
        "thresholds": thresholds,
        "mean_degree": degrees,
        "random": sampler,
        "vertices": {kind: len(sets[kind][0]) for kind in sets},
    }


# ----------------------------------------------------------------------------- figures


def stage_figures(demo: Demo) -> dict:
    """The first training seed's example figures and every model's learning curve."""
    from .figures import learning_curves_figure, make_figures  # matplotlib: only here

    return {
        "figures": make_figures(demo.seeded(demo.config.training_seeds[0]))
        + learning_curves_figure(demo)
    }


def stage_report(demo: Demo) -> dict:
    """report.json / .md / index.html: every table over the training seeds."""
    from ..evaluate.report import write_report
    from .over_seeds import (
        sweep_over_seeds,
        table1_over_seeds,
        table3_over_seeds,
        table4_over_seeds,
    )

    r = demo.results
    stages = [
        {"stage": name, "seconds": float(result["seconds"])}
        for name, result in r.items()
        if name != "report"
    ]
    labels = r["label_retrieval"]["per_seed"]
    first = str(demo.config.training_seeds[0])
    joint = {
        name: all(
            bool(models[name]["converged"]) for models in r["train_joint"]["per_seed"].values()
        )
        for name in DATASETS
    }
    results = {
        "label_retrieval": table1_over_seeds(labels, joint["classes"]),
        "label_retrieval_sweep": sweep_over_seeds({s: t["sweep"] for s, t in labels.items()}),
        "smooth_paths": table3_over_seeds(r["smooth_paths"]["per_seed"], joint["cci"]),
        "composed": table4_over_seeds(r["composed"]["per_seed"]),
        "training": training_record(demo),
        "stages": stages,
        "figures": r["figures"]["figures"],
        "curves": labels[first]["curves"],
        "config": demo.config.to_record(),
        "notes": _notes(demo.seeded(demo.config.training_seeds[0])),
    }
    write_report(demo.out / "report", results)
    return {"report": str(demo.out / "report" / "index.html")}


def training_record(demo: Demo) -> list[dict]:
    """One row per trained model and seed: steps, validation curve, plateau reached."""
    rows = []
    for model, seed, t in trained_models(demo):
        curve = t.get("curve") or []
        rows.append(
            {
                "model": model,
                "seed": seed,
                "steps": t["steps"],
                "converged": t.get("converged"),
                "stopped_early": t.get("stopped_early"),
                "validation_R@1": curve[-1]["R@1"] if curve else None,
                "best_validation_R@1": max((p["R@1"] for p in curve), default=None),
                "curve": curve,
            }
        )
    return rows


def _notes(demo: Demo) -> dict:
    """Notes on the data and, for the first training seed, on ICP and the joint models."""
    r = demo.results
    notes = {
        "CCI": f"{r['cci']['images']} images, {r['cci']['texts']} description-only "
        f"scenes, {r['cci']['train_pairs']} train and {r['cci']['test_pairs']} "
        "test pairs",
        "category set": f"{r['classes']['classes']} categories, {r['classes']['images']} "
        f"images, {r['classes']['texts']} description-only scenes",
        "random points": f"as many as text points, each {r['graphs']['random']['description']}"
        "; each stands for the scene of the text point it replaces",
        "shuffled text": "the real text points with their scenes permuted (seeded)",
        "smooth path values": "log(1 + number of smooth shortest paths); rule "
        f"{r['smooth_paths']['rule']} (the other rule: "
        "smooth_paths.variant in report.json)",
        "label retrieval": f"{r['label_retrieval']['draws']} target draws per seed; Joint "
        f"text vertices: {r['label_retrieval']['texts']} "
        f"({r['label_retrieval']['text_vertices']})",
        "training seeds": f"{', '.join(map(str, demo.config.training_seeds))}; the notes "
        f"below and the figures are of seed {demo.training_seed}",
    }
    for name in DATASETS:
        a, t = r["align"][name], r["train_joint"][name]
        notes[f"ICP on {name}"] = (
            f"mean cosine image-description {a['paired_cosine_before']:.3f} before, "
            f"{a['paired_cosine_after']:.3f} after alignment"
        )
        notes[f"joint model on {name}"] = (
            f"{t['steps']} steps, loss {t['first_loss']:.3f} -> {t['last_loss']:.3f}"
        )
    return notes


def stage_index(demo: Demo) -> dict:
    """A search index of the first seed's CCI joint run (``textmanifold index build``),
    queried once by an image and once by a sentence, as the README's recipe does."""
    from ..index import ManifoldIndex

    run = demo.seeded(demo.config.training_seeds[0]).run("joint_cci")
    index = ManifoldIndex.build(
        demo.data("cci"),
        run,
        image_embeddings=run / "embeddings" / "image.npy",
        text_embeddings=run / "embeddings" / "text.npy",
        target_degree=INDEX_DEGREE,
    )
    index.save(demo.out / "index", force=True)
    coll = read_collection(demo.data("cci"))
    image, described = coll.images()[0], coll.images()[-1]
    queries = {"image": {"image": coll.image_path(image)}, "text": {"text": described.text}}
    summary = {
        "index": str(demo.out / "index"),
        **index.manifest["counts"],
        "threshold": index.threshold,
    }
    for name, query in queries.items():
        hits = index.search(k=3, **query).geodesic
        summary[f"{name}_query"] = {
            "query": str(next(iter(query.values()))),
            "top": [[h.id, h.to_dict()["geodesic"]] for h in hits],
        }
    return summary


# The stages in the order they run: (name, function). ``run_demo`` walks this table.
_PER_SEED: tuple[tuple[str, Callable[[Demo], dict]], ...] = (
    ("train_joint", train_joint_models),
    ("train_compose", train_compositors),
    ("embed", embed_joint_runs),
    ("align", align_spaces),
    ("graphs", table3_graphs),
    ("label_retrieval", table1),
    ("smooth_paths", table3),
    ("composed", table4),
)
STAGE_TABLE: tuple[tuple[str, Callable[[Demo], dict]], ...] = (
    ("cci", stage_cci),
    ("classes", stage_classes),
    *((name, each_seed(name, one_seed)) for name, one_seed in _PER_SEED),
    ("figures", stage_figures),
    ("index", stage_index),
    ("report", stage_report),
)
STAGES: tuple[str, ...] = tuple(name for name, _ in STAGE_TABLE)
