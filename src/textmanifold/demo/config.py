"""The demo's settings: :class:`DemoConfig` and its sizes (default, ``--reproduce``,
``--full``, ``--tiny``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and settings of one demo run (recorded in ``demo.json``).

    Attributes
    ----------
    seed : int
        Fixes the data, target sets and random points.
    training_seeds : tuple of int
        Every model is trained once per seed (initial weights, batch order), on the same
        data; every verdict is a mean and standard error over them
        (:mod:`textmanifold.evaluate.seeds`).
    render_width, render_height : int
        Size of the generated images.
    cci_depth, cci_branching : int
        The CCI tree (the paper: depth 4, branching 10).
    cci_text_only : int
        Extra CCI scenes with a description and no image (text vertices of Table 3).
    cci_train_branches : int
        Extra rendered CCI children of random non-leaf scenes, each a training pair, so
        that Eq. 2 trains on more than a thousand pairs at depth 3.
    classes, images_per_class, texts_per_class : int
        The category set: K categories, rendered images and descriptions per category.
    image_size : int
        Network input side in pixels (images are resized to it).
    dim : int
        Width of the learned features and the joint space.
    joint_steps, classes_joint_steps, compose_steps : int
        At most this many SGD steps of the CCI joint model, of the category set's joint
        model and of each compositor: training stops earlier once its validation R@1 has
        reached a plateau (``patience``, ``min_delta``).
    validation, classes_validation : int
        Training pairs held out to measure the learning curves on CCI and on the category
        set (the same pairs for every seed).
    eval_every, patience, min_delta : int, int, float
        Steps between validation measurements; the early stop (no gain above
        ``min_delta`` in R@1 for ``patience`` measurements, see
        :func:`textmanifold.models.curves.plateau_reached`), which also sets the
        ``converged`` flag of each model in the report.
    precision, channels_last, threads : str, bool, int
        Training arithmetic (docs/decisions/learning.md: bfloat16 autocast and
        channels-last keep the learning curves within noise at 1.7x the speed) and torch's
        thread count, fixed so that a run's bytes depend on the machine only.
    compositors : tuple of str
        Table 4's models, ``method`` (plain) or ``method+joint`` (in Joint), methods of
        :data:`textmanifold.models.compose.METHODS`.
    learn_scale : bool
        Train the compositors with google/tirg's learnable feature scale (init 4)
        instead of the fixed temperature.
    batch_size, compose_batch_size : int
        Examples per step (the paper: 50).
    lr, temperature : float
        SGD learning rate (the paper: 0.01) and Eq. 1's temperature.
    k_shot : int
        Labelled targets per category in label retrieval.
    smooth_degrees : tuple of float
        Mean degrees of the CCI image graph that fix the five smooth-path thresholds.
    label_degree : float
        Mean degree of the category set's Image graph at the label-retrieval threshold.
        The default 1 is a sparse graph, like the paper's, where images alone leave
        many queries unretrievable (the paper's D reaches 26% of ADE20K's queries).
    label_sweep : tuple of float
        Mean degrees of the Image graph at which rows C-F are also reported, so that the
        verdict does not hang on one threshold; its low end leaves Joint queries
        unretrievable.
    label_draws : int
        Target draws that Table 1 (and its sweep) is averaged over.
    label_texts : {"descriptions", "all"}
        Text vertices of the Joint graph: one description per image, as the paper's one
        side-information text per image, or also every description-only scene.
    smooth_rule : {"literal", "merged"}
        Table 3's smooth-path rule (the other one is reported beside it).
    random_sampler : {"image-jitter", "gaussian"}
        Table 3's random control (:mod:`textmanifold.evaluate.smooth_path_table`).
    curve_points : int
        Thresholds on the retrievable / mean-degree curves.
    workers : int
        Processes for generation and image loading.
    """

    seed: int = 0
    training_seeds: tuple[int, ...] = (0, 1, 2)
    render_width: int = 128
    render_height: int = 96
    cci_depth: int = 3
    cci_branching: int = 10
    cci_text_only: int = 1000
    cci_train_branches: int = 900
    classes: int = 16
    images_per_class: int = 12
    texts_per_class: int = 60
    image_size: int = 32
    dim: int = 128
    joint_steps: int = 600
    classes_joint_steps: int = 250
    compose_steps: int = 150
    validation: int = 100
    classes_validation: int = 32
    eval_every: int = 50
    patience: int = 4
    min_delta: float = 0.01
    precision: str = "bfloat16"
    channels_last: bool = True
    threads: int = 2
    batch_size: int = 50
    compose_batch_size: int = 32
    compositors: tuple[str, ...] = ("tirg", "tirg+joint")
    learn_scale: bool = False
    lr: float = 0.01
    temperature: float = 0.1
    k_shot: int = 2
    smooth_degrees: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 6.0)
    label_degree: float = 1.0
    label_sweep: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    label_draws: int = 20
    label_texts: str = "descriptions"
    smooth_rule: str = "literal"
    random_sampler: str = "image-jitter"
    curve_points: int = 12
    workers: int = 2

    def to_record(self) -> dict:
        record = asdict(self)
        record["smooth_degrees"] = list(self.smooth_degrees)
        record["label_sweep"] = list(self.label_sweep)
        record["compositors"] = list(self.compositors)
        record["training_seeds"] = list(self.training_seeds)
        return record

    def fingerprint(self) -> str:
        text = json.dumps(self.to_record(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def default_config(**changes) -> DemoConfig:
    """The default demo: CCI depth 3 plus 900 training branches (2,011 images, 1,010
    training pairs), 32 px training to the validation plateau, three training seeds; see
    the README for its measured time."""
    return replace(DemoConfig(), **changes)


def reproduce_config(**changes) -> DemoConfig:
    """``--reproduce`` (``make reproduce``): the default demo with every model trained to
    its validation plateau under caps that the curves of earlier runs did not reach: at
    most 1,600 steps per compositor (instead of 150) and 600 for the category set's joint
    model (instead of 250), so that Tables 1 and 4 come from converged models; see the
    README for its measured time and docs/decisions/learning.md for the curves."""
    return replace(DemoConfig(compose_steps=1600, classes_joint_steps=600), **changes)


def full_config(**changes) -> DemoConfig:
    """``--full``: the paper's CCI depth 4 (11,111 images) and longer training."""
    return replace(
        DemoConfig(
            cci_depth=4,
            cci_text_only=10000,
            cci_train_branches=0,
            joint_steps=2000,
            classes_joint_steps=2000,
            compose_steps=2000,
            image_size=128,
            dim=512,
            validation=500,
            classes_validation=100,
            compose_batch_size=50,
            compositors=(
                "tirg",
                "tirg+joint",
                "tirg-conv",
                "tirg-conv+joint",
                "relation",
                "relation+joint",
            ),
            images_per_class=20,
            texts_per_class=200,
            classes=32,
        ),
        **changes,
    )


def tiny_config(**changes) -> DemoConfig:
    """A configuration for tests: depth 2, a few steps, tiny images (well under a minute)."""
    return replace(
        DemoConfig(
            render_width=64,
            render_height=48,
            cci_depth=2,
            cci_text_only=20,
            cci_train_branches=6,
            classes=4,
            label_draws=3,
            images_per_class=4,
            texts_per_class=6,
            image_size=32,
            dim=16,
            joint_steps=3,
            classes_joint_steps=3,
            compose_steps=2,
            batch_size=8,
            compose_batch_size=5,
            k_shot=1,
            training_seeds=(0, 1),
            threads=1,
            validation=6,
            classes_validation=4,
            eval_every=2,
            compositors=("tirg", "tirg+joint", "tirg-conv", "relation", "relation+joint"),
            smooth_degrees=(1, 2, 3, 4, 5),
            label_degree=2.0,
            label_sweep=(1.0, 4.0),
            curve_points=4,
            workers=1,
        ),
        **changes,
    )
