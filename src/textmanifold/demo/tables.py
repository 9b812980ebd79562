"""The demo's three experiments, computed from the run directory (:mod:`.layout`).

- :func:`table1`: label retrieval (rows A-F) as an estimate over ``label_draws`` target
  draws, at the chosen threshold and over the sweep; Joint's text vertices per
  ``label_texts``; row B named for what it is.
- :func:`random_points`: Table 3's random control, by the configured sampler.
- :func:`table3`: smooth paths under the configured rule, the other rule beside it.
- :func:`table4`: test and training-set R@K of every compositor, with the number of
  training pairs and of images Eq. 2's joint term saw.
"""

from __future__ import annotations

import numpy as np

from .. import io
from ..collection import description_rows, load_embedding, read_collection
from ..errors import InputError
from ..validation import check_option
from .layout import Demo, cci_vertex_sets, graph_path, label_texts, space_path

METHOD_NAMES = {"tirg": "TIRG", "tirg-conv": "TIRG-conv", "relation": "Relation"}
JOINT_SUFFIX = "+joint"


# ----------------------------------------------------------------------------- compositors


def parse_compositor(spec: str) -> tuple[str, bool]:
    """``"tirg"`` -> ("tirg", False); ``"tirg+joint"`` -> ("tirg", True)."""
    method = spec.removesuffix(JOINT_SUFFIX)
    if method not in METHOD_NAMES:
        raise InputError(
            f"compositor {spec!r}: method must be one of "
            f"{', '.join(METHOD_NAMES)} (optionally with {JOINT_SUFFIX!r})"
        )
    return method, spec.endswith(JOINT_SUFFIX)


def compose_run_name(method: str, in_joint: bool) -> str:
    """``runs/<name>`` of one compositor: ``compose_<method>[_joint]``."""
    return f"compose_{method}" + ("_joint" if in_joint else "")


# ----------------------------------------------------------------------------- Table 1


def resnet_name(demo: Demo) -> str:
    """Row B's space: "untrained ResNet-18" unless the joint run loaded weights."""
    from ..models.loading import read_run_record

    weights = read_run_record(demo.run("joint_classes")).model.weights
    return "untrained ResNet-18" if weights is None else f"ResNet-18 ({weights})"


def table1(demo: Demo) -> dict:
    """Table 1 over target draws, its sweep over thresholds, and the first draw's split
    (for the figures and curves)."""
    from ..evaluate.fewshot import label_sets, primary_labels, sample_targets
    from ..evaluate.label_draws import label_retrieval_draws
    from ..evaluate.retrievability import curve_thresholds, retrievable_curves

    c = demo.config
    coll = read_collection(demo.data("classes"))
    image, image_ids = load_embedding(space_path(demo, "classes", "image"))
    text, _ = label_texts(demo)
    resnet, _ = load_embedding(space_path(demo, "classes", "image_pretrained"))
    by_id = {it.id: it for it in coll.items}
    labels = [by_id[i].labels for i in image_ids]
    task = {"n_way": None, "k_shot": c.k_shot, "draws": c.label_draws, "seed": c.seed}
    estimate = label_retrieval_draws(
        image,
        text,
        resnet,
        labels,
        target_degree=c.label_degree,
        resnet_name=resnet_name(demo),
        **task,
    )
    first = estimate["seeds"][0]
    split = sample_targets(primary_labels(label_sets(labels)), None, c.k_shot, first)
    vertices = image[np.concatenate([split.targets, split.queries])]
    degrees = np.geomspace(0.25, min(16.0, 0.9 * (len(vertices) - 1)), c.curve_points)
    curves = retrievable_curves(
        vertices, text, len(split.targets), curve_thresholds(vertices, degrees)
    )
    sweep = [
        _sweep_row(d, label_retrieval_draws(image, text, None, labels, target_degree=d, **task))
        for d in c.label_sweep
    ]
    first_rows = {r["row"]: r for r in estimate["per_draw"][0]}
    return {
        "draws": estimate["draws"],
        "rows": estimate["rows"],
        "comparisons": estimate["comparisons"],
        "seeds": estimate["seeds"],
        "texts": c.label_texts,
        "text_vertices": len(text),
        "per_draw": estimate["per_draw"],
        "sweep": sweep,
        "curves": curves,
        "joint_threshold": first_rows["F"]["threshold"],
        "split": {"targets": split.targets.tolist(), "queries": split.queries.tolist()},
    }


def _sweep_row(degree: float, estimate: dict) -> dict:
    """Rows C-F at one Image-graph mean degree: means (and SEs) over the draws."""
    by = {r["row"]: r for r in estimate["rows"]}
    thresholds = [
        next(r for r in rows if r["row"] == "D")["threshold"] for rows in estimate["per_draw"]
    ]
    return {
        "degree": float(degree),
        "threshold": float(np.mean(thresholds)),
        "queries": by["D"]["queries"],
        "draws": estimate["draws"],
        "image_retrievable": by["D"]["retrievable_mean"],
        "joint_retrievable": by["F"]["retrievable_mean"],
        **{key: by[key]["accuracy_mean"] for key in "CDEF"},
        **{f"{key}_se": by[key]["accuracy_se"] for key in "CDEF"},
    }


# ----------------------------------------------------------------------------- Table 3


def random_points(demo: Demo) -> tuple[np.ndarray, dict]:
    """As many random points as CCI text points, by ``random_sampler``; and its record."""
    from ..evaluate.smooth_path_table import pair_angles, random_like, random_near

    image, image_ids = load_embedding(space_path(demo, "cci", "image"))
    text, text_ids = load_embedding(space_path(demo, "cci", "text"))
    rng = np.random.default_rng([demo.config.seed, 3])
    sampler = demo.config.random_sampler
    if sampler == "gaussian":
        return random_like(text, len(text), rng), {
            "sampler": sampler,
            "description": "Gaussian with the text cloud's mean and "
            "covariance, projected on the sphere",
        }
    if sampler != "image-jitter":
        raise InputError(f"random_sampler must be 'image-jitter' or 'gaussian', got {sampler!r}")
    angles = pair_angles(image, text[description_rows(image_ids, text_ids)])
    quartiles = np.percentile(angles, [25, 50, 75])
    return random_near(image, len(text), angles, rng), {
        "sampler": sampler,
        "angle_quartiles": [float(q) for q in quartiles],
        "description": f"an image drawn uniformly, rotated in a uniformly random direction "
        f"by an angle drawn from the {len(angles):,} angles between an image "
        f"and its own description (quartiles {quartiles[0]:.3f}, "
        f"{quartiles[1]:.3f}, {quartiles[2]:.3f} rad)",
    }


def table3(demo: Demo) -> dict:
    """Smooth-path rows under ``smooth_rule`` and, as a variant, under the other rule."""
    from ..evaluate.smooth_path_table import smooth_path_rows
    from ..manifold.paths import RULES

    rule = demo.config.smooth_rule
    check_option("smooth_rule", rule, RULES)
    sets, thresholds = cci_vertex_sets(demo), demo.results["graphs"]["thresholds"]
    graphs = {
        (kind, i): io.load_sparse(graph_path(demo, kind, i))
        for kind in sets
        for i in range(len(thresholds))
    }
    reachable = read_collection(demo.data("cci")).reachable()
    other = next(r for r in RULES if r != rule)
    return {
        "rule": rule,
        "sampler": demo.results["graphs"]["random"],
        "rows": smooth_path_rows(
            graphs, sets, reachable, thresholds, rule=rule, progress=demo.progress
        ),
        "variant": {
            "rule": other,
            "rows": smooth_path_rows(
                graphs, sets, reachable, thresholds, rule=other, progress=demo.progress
            ),
        },
    }


# ----------------------------------------------------------------------------- Table 4


def table4(demo: Demo) -> dict:
    """R@1/10/50 on the test pairs and on the training pairs of every compositor."""
    from ..models.embed import evaluate_compose_run

    coll = read_collection(demo.data("cci"))
    rows = []
    for spec in demo.config.compositors:
        method, in_joint = parse_compositor(spec)
        run = demo.run(compose_run_name(method, in_joint))
        test = evaluate_compose_run(run, demo.data("cci"), progress=demo.progress)
        train = evaluate_compose_run(run, demo.data("cci"), split="train", progress=demo.progress)
        log = io.read_json(run / "train_log.json")
        rows.append(
            {
                "method": METHOD_NAMES[method],
                "key": method,
                "in_joint": in_joint,
                "R@1": test["R@1"],
                "R@10": test["R@10"],
                "R@50": test["R@50"],
                "train_R@1": train["R@1"],
                "train_R@10": train["R@10"],
                "queries": test["queries"],
                "gallery": test["gallery"],
                "train_queries": train["queries"],
                "train_gallery": train["gallery"],
                "joint_term_images": log.get("joint_term_images"),
                "steps": log.get("steps", len(log.get("losses", []))),
                "converged": log.get("converged"),
            }
        )
    seen = [r["joint_term_images"] for r in rows if r["in_joint"]]
    return {
        "train_pairs": len(coll.pairs_of("train")),
        "test_pairs": len(coll.pairs_of("test")),
        "joint_term_images": min(seen) if seen else 0,
        "rows": rows,
    }
