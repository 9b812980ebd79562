"""The learning stages of the demo, for one training seed: train the joint models (Eq. 1)
and the compositors (Eq. 2), then export the joint runs' embeddings.

Each returns a JSON-able summary; :mod:`.stages` runs them once per training seed
(:func:`~.stages.each_seed`) in its stage table.
"""

from __future__ import annotations

import numpy as np

from .. import io
from ..collection import load_embedding
from .layout import DATASETS, Demo
from .tables import compose_run_name, parse_compositor

__all__ = ["embed_joint_runs", "train_compositors", "train_joint_models"]


def _settings(demo: Demo, steps: int, batch_size: int, validation: int):
    from ..models.train import TrainSettings

    c = demo.config
    return TrainSettings(
        steps=steps,
        batch_size=batch_size,
        lr=c.lr,
        temperature=c.temperature,
        image_size=c.image_size,
        seed=demo.training_seed,
        precision=c.precision,
        channels_last=c.channels_last,
        threads=c.threads,
        validation=validation,
        eval_every=c.eval_every,
        patience=c.patience,
        min_delta=c.min_delta,
        checkpoint_every=max(1, min(50, steps)),
        progress=demo.progress,
    )


def train_joint_models(demo: Demo) -> dict:
    """The joint models of CCI and of the category set."""
    from ..models import runs

    c = demo.config
    summary = {}
    settings = {
        "cci": _settings(demo, c.joint_steps, c.batch_size, c.validation),
        "classes": _settings(demo, c.classes_joint_steps, c.batch_size, c.classes_validation),
    }
    for name in DATASETS:
        demo.log(f"  joint model on {name}")
        result = runs.train_joint(
            demo.data(name),
            demo.run(f"joint_{name}"),
            dim=c.dim,
            text_cache=demo.sentence_cache,
            settings=settings[name],
            resume=True,
        )
        summary[name] = _training_summary(result)
    return summary


def _training_summary(result) -> dict:
    """Steps, losses, speed and the learning curve of one training run."""
    losses = result.losses
    head = losses[:10] or [float("nan")]
    tail = losses[-10:] or [float("nan")]
    return {
        "steps": result.step,
        "first_loss": float(np.mean(head)),
        "last_loss": float(np.mean(tail)),
        "images_per_second": float(result.images_per_second),
        "curve": result.curve,
        "converged": result.converged,
        "stopped_early": result.stopped_early,
    }


def train_compositors(demo: Demo) -> dict:
    """Every compositor of ``compositors``."""
    from ..models import runs

    c = demo.config
    summary = {}
    for spec in c.compositors:
        method, in_joint = parse_compositor(spec)
        name = compose_run_name(method, in_joint)
        demo.log(f"  {name}")
        result = runs.train_compose(
            demo.data("cci"),
            demo.run(name),
            method=method,
            in_joint=in_joint,
            dim=c.dim,
            learn_scale=c.learn_scale,
            settings=_settings(demo, c.compose_steps, c.compose_batch_size, c.validation),
            resume=True,
        )
        summary[name] = _training_summary(result)
        if in_joint:
            log = io.read_json(demo.run(name) / "train_log.json")
            summary[name]["joint_term_images"] = log["joint_term_images"]
    return summary


def embed_joint_runs(demo: Demo) -> dict:
    """Image and text embeddings of both joint runs."""
    from ..models.embed import embed_joint_run

    summary = {}
    for name in DATASETS:
        written = embed_joint_run(
            demo.data(name),
            demo.run(f"joint_{name}"),
            text_cache=demo.sentence_cache,
            progress=demo.progress,
        )
        summary[name] = {space: len(load_embedding(path)[1]) for space, path in written.items()}
    return summary
