"""Run directories: train a joint or composed-retrieval model on a Collection, load it back.

A run directory holds::

    run.json              kind, collection, model shape, training data fingerprint, settings
                          (typed: :class:`~textmanifold.models.records.RunRecord`)
    vocab.json            the LSTM vocabulary (composed-retrieval runs)
    checkpoints/last.pt   see textmanifold.models.checkpoints
    train_log.json        losses of every step, the last call's images/s, the learning
                          curve on held-out pairs (``curve``: step, R@1, loss), ``converged``
                          and ``stopped_early`` (compose
                          runs in Joint: also ``joint_term_pool`` and ``joint_term_images``)

``resume=True`` continues a run whose ``run.json`` matches (same kind, model, data and
the settings that shape the losses); without it, an existing run is never overwritten.
Training and :func:`~textmanifold.models.loading.load_run` build the model with the one
factory, :func:`~textmanifold.models.factory.build_model`; the names of :mod:`.loading`
(``Run``, ``load_run``, ``read_run_record``, ...) are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .. import io
from ..collection import Collection, Item, read_collection
from ..errors import InputError
from ..validation import check_option
from . import distributed
from .batches import ComposeBatches, JointBatches, SideBatches, joint_term_images, pair_table
from .compose import BALANCED_INIT, METHODS, ComposeModel
from .data import BatchDataset, check_files
from .encoders import Vocabulary, check_backbone_weights
from .factory import build_model
from .joint import JointModel
from .loading import Run, initial_image_encoder, load_run, read_run_config, read_run_record
from .records import (
    RUN_FORMAT,
    ComposeModelConfig,
    DataRecord,
    JointModelConfig,
    RunRecord,
)
from .sentence import SentenceTextEncoder
from .train import TrainResult, TrainSettings, fit, resolve_device
from .validation import compose_validator, held_out_rows, joint_validator

__all__ = [
    "RUN_FORMAT",
    "Run",  # Run, initial_image_encoder, load_run, read_run_*: re-exported from .loading
    "initial_image_encoder",
    "load_run",
    "read_run_config",
    "read_run_record",
    "train_compose",
    "train_joint",
]


# ----------------------------------------------------------------------------- run.json


def _fingerprint(rows: list) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()


def _refuse_existing(out: Path, resume: bool) -> None:
    """Never overwrite: an existing run needs ``resume``, other files another ``out``;
    ``out`` must be a writable directory (:func:`textmanifold.outputs.check_output_dir`)."""
    from ..outputs import check_output_dir

    check_output_dir(out, None, resume=resume, allow_nonempty=True)
    if resume or not out.exists():
        return
    if (out / "run.json").exists():
        raise InputError(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )
    if any(out.iterdir()):
        raise InputError(f"{out} is not empty and holds no run; choose another --out")


def _rank_and_world() -> dict[str, int]:
    """This process's ``rank`` and the job's ``world_size`` (torchrun's; 0 and 1 alone),
    handed to the loss explicitly: Eq. 1 contrasts the rows of every rank."""
    return {"rank": distributed.rank(), "world_size": distributed.world_size()}


def _open_run(out: Path, config: dict, resume: bool) -> None:
    """Create the run directory, or check that a resumed run matches ``config`` (a
    :meth:`RunRecord.to_json`; compared as stored, so a run whose file lacks a key the
    new record has does not resume; ``out`` already passed :func:`_refuse_existing`, at
    the start of the training)."""
    # under torchrun: every rank has checked before rank 0 writes
    distributed.barrier(resolve_device(config["train"]["device"]))
    run_json = out / "run.json"
    if run_json.exists():
        old = io.read_json(run_json)
        for key in ("kind", "model", "data"):
            if old.get(key) != config[key]:
                raise InputError(
                    f"{run_json}: cannot resume: its {key} {old.get(key)} "
                    f"differs from this call's {config[key]}"
                )
        old_train = old.get("train", {})
        defaults = TrainSettings()  # a run made before a setting existed had its default
        for key in TrainSettings.TRAJECTORY:
            if old_train.get(key, getattr(defaults, key)) != config["train"][key]:
                raise InputError(
                    f"{run_json}: cannot resume: it was trained with {key}="
                    f"{old_train.get(key)}, this call has {config['train'][key]}"
                )
    if distributed.is_main():
        io.write_json(run_json, config)


def _finish(out: Path, result: TrainResult, **extra) -> TrainResult:
    if distributed.is_main():
        io.write_json(out / "train_log.json", {**result.to_record(), **extra})
    return result


def _check_batch(settings: TrainSettings, n: int, what: str) -> None:
    if settings.batch_size > n:
        raise InputError(
            f"batch size {settings.batch_size} is larger than the {n} {what}; lower --batch-size"
        )


# ----------------------------------------------------------------------------- joint


def joint_examples(collection: Collection, split: str | None = None) -> list[Item]:
    """Image items with a description, optionally of one split: the (x, t) pairs of Eq. 1."""
    items = [it for it in collection.images(split) if it.text]
    if not items:
        where = f"split {split!r} of " if split else ""
        raise InputError(
            f"{where}{collection.root} has no image items with a description "
            "('text'); the joint model trains on (image, description) pairs"
        )
    return items


def train_joint(
    collection: str | os.PathLike,
    out: str | os.PathLike,
    *,
    dim: int = 512,
    weights: str | None = None,
    text_model: str | None = None,
    text_cache: str | os.PathLike | None = None,
    split: str | None = None,
    settings: TrainSettings | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train the joint model (Eq. 1) on a Collection's described images; see module doc.

    ``text_model`` is a sentence-transformers directory (default: bundled MiniLM);
    ``text_cache`` where sentence embeddings are cached; ``split`` restricts the images.
    """
    settings = settings or TrainSettings()
    settings.validate()
    out = Path(out)
    _refuse_existing(out, resume)
    coll = read_collection(collection)
    items = joint_examples(coll, split)
    _check_batch(settings, len(items), "described images")
    paths = [coll.image_path(it) for it in items]
    check_files(paths)
    check_backbone_weights(weights)
    device = "cuda" if settings.device != "cpu" and torch.cuda.is_available() else "cpu"
    encoder = SentenceTextEncoder(
        text_model, cache_dir=text_cache, device=device, progress=settings.progress
    )
    sentences = encoder.encode([it.text for it in items])
    train_rows, val_rows = held_out_rows(len(items), settings.validation, settings.batch_size)
    config = JointModelConfig(
        text_dim=int(sentences.shape[1]), dim=dim, weights=weights, text_model=text_model
    )
    data = DataRecord(
        split=split,
        examples=len(train_rows),
        fingerprint=_fingerprint([[it.id, it.path, it.text] for it in items]),
        held_out=len(val_rows) or None,
    )
    torch.manual_seed(settings.seed)
    # built before the run directory is made: bad --weights leave nothing behind
    model = build_model(config, train_sentences=torch.from_numpy(sentences[train_rows]))
    _open_run(out, RunRecord.new(config, coll.root, data, settings).to_json(), resume)
    dataset = BatchDataset(
        JointBatches([paths[i] for i in train_rows], sentences[train_rows], settings.image_size),
        len(train_rows),
        settings.batch_size,
        settings.seed,
    )
    validate = (
        joint_validator(
            [paths[i] for i in val_rows],
            sentences[val_rows],
            settings.image_size,
            settings.temperature,
        )
        if len(val_rows)
        else None
    )

    part = _rank_and_world()

    def loss_of_batch(net: JointModel, batch: dict) -> torch.Tensor:
        return net.loss(batch["images"], batch["sentences"], settings.temperature, **part)

    result = fit(model, loss_of_batch, dataset, settings, out, resume=resume, validate=validate)
    return _finish(out, result)


# ----------------------------------------------------------------------------- compose


def train_compose(
    collection: str | os.PathLike,
    out: str | os.PathLike,
    *,
    method: str,
    in_joint: bool = False,
    dim: int = 512,
    weights: str | None = None,
    relation_hidden: int = 256,
    split: str = "train",
    learn_scale: bool = False,
    balanced_init: bool = BALANCED_INIT,
    settings: TrainSettings | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train a TIRG, TIRG-conv or Relation model, plain or in Joint (Eq. 2), on a split's
    pairs.

    In Joint, Eq. 2's first term runs over its own batch of ``batch_size`` images per step,
    drawn from every image of ``split`` with a description (:class:`SideBatches`);
    ``train_log.json`` records the pool and how many distinct images the term saw.
    ``learn_scale`` and ``balanced_init`` as in
    :class:`~textmanifold.models.compose.ComposeModel`.
    """
    check_option("method", method, METHODS)
    settings = settings or TrainSettings()
    settings.validate()
    out = Path(out)
    _refuse_existing(out, resume)
    coll = read_collection(collection)
    table = pair_table(coll, split)
    _check_batch(settings, len(table.queries), f"pairs of split {split!r}")
    train_rows, val_rows = held_out_rows(
        len(table.queries), settings.validation, settings.batch_size
    )
    train_queries = [table.queries[i] for i in train_rows]
    images = joint_term_images(coll, table, split) if in_joint else table.images
    paths = [coll.image_path(it) for it in images]
    check_files(paths)
    check_backbone_weights(weights)
    sides, side = None, None
    if in_joint:
        # Indexed by image row, like the batch's images; only the pool's are ever read.
        sides = [it.text or "" for it in images]
        pool = np.array([i for i, it in enumerate(images) if it.text], dtype=np.int64)
        if len(pool) < 2:
            raise InputError(
                f"{coll.root}: split {split!r} has {len(pool)} described images; "
                "in-Joint training needs at least 2 for Eq. 2's joint term"
            )
        side = SideBatches(pool, min(settings.batch_size, len(pool)), settings.seed)
    vocab = Vocabulary.build(
        train_queries + [sides[i] for i in side.pool] if side is not None else train_queries
    )
    config = ComposeModelConfig(
        method=method,
        vocab_size=len(vocab),
        in_joint=in_joint,
        dim=dim,
        weights=weights,
        relation_hidden=relation_hidden,
        learn_scale=learn_scale,
        balanced_init=balanced_init,
    )
    data = DataRecord(
        split=split,
        examples=len(train_rows),
        fingerprint=_fingerprint(
            [
                [table.images[s].id, table.images[t].id, q]
                for s, t, q in zip(table.sources, table.targets, table.queries, strict=True)
            ]
            + ([[it.id, it.text] for it in images] if in_joint else [None])
        ),
        held_out=len(val_rows) or None,
        joint_term_pool=len(side.pool) if side is not None else None,
    )
    torch.manual_seed(settings.seed)
    # built before the run directory is made: bad --weights leave nothing behind
    model = build_model(config)
    _open_run(out, RunRecord.new(config, coll.root, data, settings).to_json(), resume)
    if distributed.is_main():
        io.write_json(out / "vocab.json", vocab.words)
    make = ComposeBatches(
        paths,
        table.sources[train_rows],
        table.targets[train_rows],
        train_queries,
        sides,
        vocab,
        settings.image_size,
        side,
    )
    dataset = BatchDataset(
        make, len(train_rows), settings.batch_size, settings.seed, with_step=True
    )
    validate = (
        compose_validator(
            paths,
            table.sources[val_rows],
            table.targets[val_rows],
            [table.queries[i] for i in val_rows],
            vocab,
            settings.image_size,
            settings.temperature,
        )
        if len(val_rows)
        else None
    )

    part = _rank_and_world()

    def loss_of_batch(net: ComposeModel, batch: dict) -> torch.Tensor:
        return net.loss(
            batch["images"],
            batch["sources"],
            batch["targets"],
            batch["query_tokens"],
            batch["query_lengths"],
            batch.get("side_images"),
            batch.get("side_tokens"),
            batch.get("side_lengths"),
            settings.temperature,
            **part,
        )

    result = fit(model, loss_of_batch, dataset, settings, out, resume=resume, validate=validate)
    extra = {}
    if side is not None:
        extra = {
            "joint_term_pool": len(side.pool),
            "joint_term_images": side.distinct_images(result.step),
        }
    return _finish(out, result, **extra)
