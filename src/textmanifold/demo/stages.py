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
from .tables import compose_run_name, parse_compositor, random_points, table1, table3, table4

INDEX_DEGREE = 10.0  # the search index's mean degree (index build's default)

# ----------------------------------------------------------------------------- data


def stage_cci(demo: Demo) -> dict:
    from ..synth.cci import generate_cci

    c = demo.config
    root = generate_cci(demo.data("cci"), depth=c.cci_depth, branching=c.cci_branching,
                        size=(c.render_width, c.render_height), seed=c.seed,
                        workers=c.workers, text_only_scenes=c.cci_text_only,
                        train_branches=c.cci_train_branches, resume=True,
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
    steps = {"cci": demo.config.joint_steps, "classes": demo.config.classes_joint_steps}
    for name in DATASETS:
        demo.log(f"  joint model on {name}")
        result = runs.train_joint(demo.data(name), demo.run(f"joint_{name}"),
                                  dim=demo.config.dim, text_cache=demo.sentence_cache,
                                  settings=_settings(demo, steps[name],
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


def stage_train_compose(demo: Demo) -> dict:
    from ..models import runs

    summary = {}
    for spec in demo.config.compositors:
        method, in_joint = parse_compositor(spec)
        name = compose_run_name(method, in_joint)
        demo.log(f"  {name}")
        result = runs.train_compose(demo.data("cci"), demo.run(name), method=method,
                                    in_joint=in_joint, dim=demo.config.dim,
                                    learn_scale=demo.config.learn_scale,
                                    settings=_settings(demo, demo.config.compose_steps,
                                                       demo.config.compose_batch_size),
                                    resume=True)
        summary[name] = _loss_summary(result)
        if in_joint:
            log = io.read_json(demo.run(name) / "train_log.json")
            summary[name]["joint_term_images"] = log["joint_term_images"]
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
    """Five thresholds from the CCI image graph's mean degree; the graphs of every vertex
    set (:data:`~textmanifold.evaluate.smooth_path_table.KINDS`) at each."""
    from ..evaluate.smooth_path_table import build_graphs, thresholds_for_degrees
    from ..manifold.graph import mean_degree

    image, _ = load_embedding(space_path(demo, "cci", "image"))
    _, text_ids = load_embedding(space_path(demo, "cci", "text"))
    points, sampler = random_points(demo)
    save_embedding(space_path(demo, "cci", "random"), points,
                   [f"random:{i}" for i in text_ids])
    thresholds = thresholds_for_degrees(image, demo.config.smooth_degrees)
    sets = cci_vertex_sets(demo)
    graphs = build_graphs(sets, thresholds, progress=demo.progress)
    degrees: dict[str, list[float]] = {kind: [] for kind in sets}
    for (kind, i), graph in sorted(graphs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        io.save_sparse(graph_path(demo, kind, i), graph)
        degrees[kind].append(mean_degree(graph))
    return {"thresholds": thresholds, "mean_degree": degrees, "random": sampler,
            "vertices": {kind: int(len(sets[kind][0])) for kind in sets}}


# ----------------------------------------------------------------------------- evaluation


def stage_smooth_paths(demo: Demo) -> dict:
    """Table 3 (:func:`.tables.table3`)."""
    return table3(demo)


def stage_composed(demo: Demo) -> dict:
    """Table 4 (:func:`.tables.table4`)."""
    return table4(demo)


def stage_label_retrieval(demo: Demo) -> dict:
    """Table 1 over target draws, its sweep, and the curves (:func:`.tables.table1`)."""
    return table1(demo)


def stage_figures(demo: Demo) -> dict:
    from .figures import make_figures  # matplotlib: only when the stage runs

    return {"figures": make_figures(demo)}


def stage_report(demo: Demo) -> dict:
    from ..evaluate.report import write_report

    stages = [{"stage": name, "seconds": float(result["seconds"])}
              for name, result in demo.results.items() if name != "report"]
    labels = demo.results["label_retrieval"]
    table1_keys = ("draws", "rows", "comparisons", "seeds", "texts", "text_vertices")
    results = {
        "label_retrieval": {key: labels[key] for key in table1_keys},
        "label_retrieval_sweep": labels["sweep"],
        "smooth_paths": demo.results["smooth_paths"],
        "composed": demo.results["composed"],
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
        "random points": f"as many as text points, each {r['graphs']['random']['description']}"
                         "; each stands for the scene of the text point it replaces",
        "shuffled text": "the real text points with their scenes permuted (seeded)",
        "smooth path values": "log(1 + number of smooth shortest paths); rule "
                              f"{r['smooth_paths']['rule']} (the other rule: "
                              "smooth_paths.variant in report.json)",
        "label retrieval": f"mean and standard error over {r['label_retrieval']['draws']} "
                           "target draws; Joint text vertices: "
                           f"{r['label_retrieval']['texts']} "
                           f"({r['label_retrieval']['text_vertices']})",
    }
    for name in DATASETS:
        a, t = r["align"][name], r["train_joint"][name]
        notes[f"ICP on {name}"] = (
            f"mean cosine image-description {a['paired_cosine_before']:.3f} before, "
            f"{a['paired_cosine_after']:.3f} after alignment")
        notes[f"joint model on {name}"] = (
            f"{t['steps']} steps, loss {t['first_loss']:.3f} -> {t['last_loss']:.3f}")
    return notes


def stage_index(demo: Demo) -> dict:
    """A search index of the CCI joint run (``textmanifold index build``), queried once by
    an image and once by a sentence, as the README's recipe does."""
    from ..index import ManifoldIndex

    run = demo.run("joint_cci")
    index = ManifoldIndex.build(demo.data("cci"), run, image_embeddings=run / "embeddings" /
                                "image.npy", text_embeddings=run / "embeddings" / "text.npy",
                                target_degree=INDEX_DEGREE)
    index.save(demo.out / "index", force=True)
    coll = read_collection(demo.data("cci"))
    image, described = coll.images()[0], coll.images()[-1]
    queries = {"image": {"image": coll.image_path(image)}, "text": {"text": described.text}}
    summary = {"index": str(demo.out / "index"), **index.manifest["counts"],
               "threshold": index.threshold}
    for name, query in queries.items():
        hits = index.search(k=3, **query).geodesic
        summary[f"{name}_query"] = {"query": str(next(iter(query.values()))),
                                    "top": [[h.id, h.to_dict()["geodesic"]] for h in hits]}
    return summary


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
    ("index", stage_index),
    ("report", stage_report),
)
STAGES: tuple[str, ...] = tuple(name for name, _ in STAGE_TABLE)
