"""Held-out validation of a training run: which pairs are held out, and what is measured.

A trainer keeps ``settings.validation`` of its training pairs aside (:func:`held_out_rows`,
the same rows whatever the training seed, so that the curves of several seeds measure
the same thing) and hands :func:`~textmanifold.models.train.fit` a validator built here.
Both validators return ``{"R@1": recall in [0, 1], "loss": Eq. 1 on the held-out set}``:

- joint (:func:`joint_validator`): each held-out image ranks the held-out descriptions;
- compose (:func:`compose_validator`): each held-out query (source image + text) ranks
  the held-out pairs' distinct images, its own source excluded (TIRG's protocol, the
  rank rule of :func:`textmanifold.ranking.target_ranks`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import InputError
from ..ranking import target_ranks
from .data import load_image
from .loss import info_nce

if TYPE_CHECKING:
    from .encoders import Vocabulary

__all__ = ["HOLD_OUT_SEED", "compose_validator", "held_out_rows", "joint_validator"]

HOLD_OUT_SEED = 20_240_607  # fixed: the held-out rows must not move with the training seed

Validator = Callable[[torch.nn.Module], dict[str, float]]


def held_out_rows(n: int, count: int, min_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Split rows ``0..n-1`` into (training rows, held-out rows), both sorted.

    ``count`` rows are held out, drawn by a fixed permutation; at least ``min_train``
    (the batch size) must stay for training and 2 must be held out to rank anything.
    """
    if count == 0:
        return np.arange(n), np.empty(0, dtype=np.int64)
    if count < 2:
        raise InputError(f"validation needs at least 2 held-out pairs, got {count}")
    if n - count < min_train:
        raise InputError(
            f"holding out {count} of {n} pairs leaves fewer than the batch "
            f"size ({min_train}) to train on; lower --validation"
        )
    order = np.random.default_rng(HOLD_OUT_SEED).permutation(n)
    return np.sort(order[count:]), np.sort(order[:count])


def _stack(paths: list[Path], size: int) -> torch.Tensor:
    return torch.stack([load_image(p, size) for p in paths])


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> float:
    """Eq. 1 in float32 even inside the trainer's bfloat16 autocast (a coarse bf16 loss
    would hide the curve's small late changes)."""
    with torch.autocast(a.device.type, enabled=False):
        return float(info_nce(a.float(), b.float(), temperature))


def _r_at_1(
    query: torch.Tensor, gallery: torch.Tensor, target: np.ndarray, exclude: np.ndarray
) -> float:
    ranks = target_ranks(
        query.float().cpu().numpy(), gallery.float().cpu().numpy(), target, exclude
    )
    return float(np.mean(ranks <= 1))


def joint_validator(
    paths: list[Path], sentences: np.ndarray, size: int, temperature: float
) -> Validator:
    """Image -> description R@1 and Eq. 1's loss over the held-out (image, sentence) pairs.

    ``paths`` (n,) and ``sentences`` (n, text_dim) are the held-out pairs; the images are
    decoded once, here.
    """
    images = _stack(paths, size)
    text = torch.from_numpy(np.ascontiguousarray(sentences, dtype=np.float32))
    none = np.full(len(paths), -1)

    def validate(model) -> dict[str, float]:
        dev = _device_of(model)
        a = model.embed_images(images.to(dev)).float()
        b = model.embed_texts(text.to(dev)).float()
        return {"R@1": _r_at_1(a, b, np.arange(len(paths)), none), "loss": _loss(a, b, temperature)}

    return validate


def compose_validator(
    paths: list[Path],
    sources: np.ndarray,
    targets: np.ndarray,
    queries: list[str],
    vocab: Vocabulary,
    size: int,
    temperature: float,
) -> Validator:
    """Composed-query R@1 and Eq. 1's loss (composed vs target) over held-out pairs.

    ``paths`` are the pair table's images; ``sources``/``targets`` (P,) rows of it and
    ``queries`` the P modification texts of the held-out pairs.
    """
    distinct, rows = np.unique(np.concatenate([sources, targets]), return_inverse=True)
    images = _stack([paths[i] for i in distinct], size)
    src, tgt = rows[: len(sources)], rows[len(sources) :]
    tokens, lengths = vocab.encode(queries)

    def validate(model) -> dict[str, float]:
        dev = _device_of(model)
        x = images.to(dev)
        gallery = model.gallery_features(x).float()
        source = model.source_features(x[torch.from_numpy(src).to(dev)])
        composed = model.composed(source, tokens.to(dev), lengths.to(dev)).float()
        return {
            "R@1": _r_at_1(composed, gallery, tgt, src),
            "loss": _loss(composed, gallery[torch.from_numpy(tgt).to(dev)], temperature),
        }

    return validate
