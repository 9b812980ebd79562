"""What one training step reads: the batch makers of the joint and composed runs.

:class:`JointBatches` feeds Eq. 1 (images and their sentence embeddings);
:class:`ComposeBatches` feeds Eq. 2 (source/target images, query tokens and, in Joint,
the joint term's described images drawn by :class:`SideBatches`); :func:`pair_table`
turns a split's pairs into arrays over its distinct images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..collection import Collection, Item
from ..errors import InputError
from .data import batch_indices, load_image
from .encoders import Vocabulary

__all__ = [
    "SIDE_STREAM",
    "ComposeBatches",
    "JointBatches",
    "PairTable",
    "SideBatches",
    "joint_term_images",
    "pair_table",
]


class JointBatches:
    """Batch maker for the joint model: images and their precomputed sentence embeddings."""

    def __init__(self, paths: list[Path], sentences: np.ndarray, size: int):
        self.paths, self.sentences, self.size = paths, sentences, size

    def __call__(self, idx: np.ndarray) -> dict:
        return {
            "images": torch.stack([load_image(self.paths[i], self.size) for i in idx]),
            "sentences": torch.from_numpy(self.sentences[idx]),
        }


# Stream of the joint term's batch order (independent of the pairs' order, stream 0).
SIDE_STREAM = 1


class SideBatches:
    """The joint term's batches: ``size`` described images per step from ``pool``.

    ``pool`` holds image rows (every training-split image with a description, sources and
    targets alike); step ``s`` takes :func:`~textmanifold.models.data.batch_indices` of
    it in stream :data:`SIDE_STREAM`, so over the epochs every pooled image is seen.
    """

    def __init__(self, pool: np.ndarray, size: int, seed: int):
        self.pool, self.size, self.seed = np.asarray(pool, dtype=np.int64), size, seed

    def rows(self, step: int) -> np.ndarray:
        """Image rows of the joint term at ``step``, shape (size,), distinct."""
        return self.pool[batch_indices(len(self.pool), self.size, self.seed, step, SIDE_STREAM)]

    def distinct_images(self, steps: int) -> int:
        """How many distinct images the joint term sees in steps ``0 .. steps - 1``."""
        seen: set[int] = set()
        per_epoch = len(self.pool) // self.size
        for epoch in range(-(-steps // per_epoch) if steps else 0):
            if len(seen) == len(self.pool):
                break
            last = min(steps, (epoch + 1) * per_epoch)
            for step in range(epoch * per_epoch, last):
                seen.update(self.rows(step).tolist())
        return len(seen)


class ComposeBatches:
    """Batch maker for composed retrieval: source/target images, query and side tokens.

    ``side`` (in Joint) draws the joint term's described images of each step; ``sides``
    holds every image row's description (given exactly when ``side`` is).
    """

    def __init__(
        self,
        paths: list[Path],
        sources: np.ndarray,
        targets: np.ndarray,
        queries: list[str],
        sides: list[str] | None,
        vocab: Vocabulary,
        size: int,
        side: SideBatches | None = None,
    ):
        self.paths, self.sources, self.targets = paths, sources, targets
        self.queries, self.sides, self.vocab, self.size = queries, sides, vocab, size
        self.side = side

    def __call__(self, idx: np.ndarray, step: int = 0, part: tuple[int, int] | None = None) -> dict:
        """The batch of pairs ``idx`` at ``step``; ``part=(rank, world)`` takes this
        rank's contiguous share of the joint term's batch (torchrun)."""
        side = self.side.rows(step) if self.side is not None else np.empty(0, np.int64)
        if part is not None:
            side = np.array_split(side, part[1])[part[0]]
        distinct, rows = np.unique(
            np.concatenate([self.sources[idx], self.targets[idx], side]), return_inverse=True
        )
        q_tokens, q_lengths = self.vocab.encode([self.queries[i] for i in idx])
        batch = {
            "images": torch.stack([load_image(self.paths[i], self.size) for i in distinct]),
            "sources": torch.from_numpy(rows[: len(idx)]),
            "targets": torch.from_numpy(rows[len(idx) : 2 * len(idx)]),
            "query_tokens": q_tokens,
            "query_lengths": q_lengths,
        }
        if self.side is not None:
            side_rows = rows[2 * len(idx) :]
            s_tokens, s_lengths = self.vocab.encode([self.sides[distinct[r]] for r in side_rows])
            batch.update(
                side_images=torch.from_numpy(side_rows),
                side_tokens=s_tokens,
                side_lengths=s_lengths,
                side_ids=torch.from_numpy(distinct[side_rows]),
            )
        return batch


@dataclass
class PairTable:
    """The pairs of one split as arrays over a list of the distinct images they name."""

    images: list[Item]
    sources: np.ndarray  # (P,) int64 rows of ``images``
    targets: np.ndarray
    queries: list[str]


def pair_table(collection: Collection, split: str) -> PairTable:
    pairs = collection.pairs_of(split)
    if not pairs:
        raise InputError(f"{collection.root}: no pairs in split {split!r}")
    by_id = {it.id: it for it in collection.items}
    row: dict[str, int] = {}
    for pair in pairs:
        for end in (pair.source, pair.target):
            if by_id[end].modality != "image":
                raise InputError(f"{collection.root}: pair end {end!r} is not an image item")
            row.setdefault(end, len(row))
    return PairTable(
        images=[by_id[i] for i in row],
        sources=np.array([row[p.source] for p in pairs], dtype=np.int64),
        targets=np.array([row[p.target] for p in pairs], dtype=np.int64),
        queries=[p.text for p in pairs],
    )


def joint_term_images(collection: Collection, table: PairTable, split: str) -> list[Item]:
    """The pair table's images, then the split's other described images (row order)."""
    known = {it.id for it in table.images}
    return table.images + [it for it in collection.images(split) if it.text and it.id not in known]
