"""A trained run read back: its record, its model with the last checkpoint's weights.

:func:`load_run` rebuilds the model of a run directory (:mod:`.runs` trains them) with
the one factory, :func:`~textmanifold.models.factory.build_model`, from its typed
``run.json`` (:func:`read_run_record`), and refuses a checkpoint of another model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from .. import io
from ..errors import DataFormatError, TextManifoldError
from .checkpoints import checkpoint_path, load_checkpoint
from .encoders import ImageEncoder, Vocabulary
from .factory import build_model
from .joint import JointModel
from .records import ComposeModelConfig, RunRecord
from .train import TrainSettings

__all__ = [
    "Run",
    "initial_image_encoder",
    "load_run",
    "read_run_config",
    "read_run_record",
]


@dataclass
class Run:
    """A trained run read back: its record, model (eval mode) and vocabulary."""

    root: Path
    record: RunRecord
    model: nn.Module
    vocab: Vocabulary | None = None

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def settings(self) -> TrainSettings:
        return self.record.train

    @property
    def config(self) -> dict:
        """The record as ``run.json`` stores it (plain data)."""
        return self.record.to_json()


def read_run_record(run_dir: str | os.PathLike) -> RunRecord:
    """A run's ``run.json``, checked and typed (:meth:`RunRecord.from_json`)."""
    path = Path(run_dir) / "run.json"
    return RunRecord.from_json(io.read_json(path), path)


def read_run_config(run_dir: str | os.PathLike) -> dict:
    """A run's ``run.json`` as plain data, checked like :func:`read_run_record`."""
    return read_run_record(run_dir).to_json()


def load_run(run_dir: str | os.PathLike, device: str = "cpu", *, image_branch: bool = True) -> Run:
    """Rebuild a run's model from ``run.json`` and load its last checkpoint.

    ``image_branch=False`` (joint runs) leaves the ResNet out: a text query then loads
    only what embeds sentences.
    """
    root = Path(run_dir)
    record = read_run_record(root)
    vocab = None
    config = record.model
    if isinstance(config, ComposeModelConfig):
        vocab = Vocabulary(io.read_json(root / "vocab.json"))
        # the vocabulary file is what the embedding is indexed by
        config = replace(config, vocab_size=len(vocab))
    model = build_model(config, image_branch=image_branch, initial_weights=False)
    path = checkpoint_path(root)
    if not path.is_file():
        raise TextManifoldError(f"{path}: the run has no checkpoint yet; train it first")
    _load_weights(model, load_checkpoint(path), path, record.kind)
    model.to(device).eval()
    return Run(root=root, record=record, model=model, vocab=vocab)


def _load_weights(model: nn.Module, state: dict, path: Path, kind: str) -> None:
    """Load a checkpoint's weights, refusing one of another model (the class recorded in
    the checkpoint, or for older checkpoints weights that do not fit)."""
    recorded, expected = state.get("model_class"), type(model).__name__
    if recorded is not None and recorded != expected:
        raise DataFormatError(
            f"{path}: holds a {recorded} checkpoint but the run is a {kind} run ({expected})"
        )
    try:
        weights = state["model"]
        if isinstance(model, JointModel) and model.f_img is None:  # a text-only load
            weights = {k: v for k, v in weights.items() if not k.startswith("f_img.")}
        model.load_state_dict(weights)
    except (RuntimeError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(
            f"{path}: its weights do not fit the run's {kind} model ({reason})"
        ) from None


def initial_image_encoder(run: Run) -> ImageEncoder:
    """The run's image encoder as it was before training (same seed, same weights spec).

    Its pooled backbone features are the paper's "Resnet" (pretrained) space.
    """
    torch.manual_seed(run.settings.seed)
    model = run.record.model
    return ImageEncoder(model.dim, model.weights).eval()
