"""The ICP map of an index: which rows it fits on, when it can be fitted, its saved state.

An index maps its image rows by paired ICP onto their descriptions (paper Algorithm 1,
:class:`~textmanifold.manifold.ICPAligner`); the fitted map is saved (``align.npz``) and
rebuilt on load so that query images and added images go through the same map.
"""

from __future__ import annotations

import numpy as np

from ..collection import description_id
from ..errors import InputError
from ..manifold import ICPAligner

__all__ = [
    "MIN_ALIGN_PAIRS",
    "aligner_from",
    "aligner_state",
    "check_alignable",
    "described_pairs",
]

MIN_ALIGN_PAIRS = 2


def described_pairs(image_ids: list[str], text_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the images that have a description row, and of those descriptions."""
    row = {tid: i for i, tid in enumerate(text_ids)}
    pairs = [
        (i, row[description_id(image)])
        for i, image in enumerate(image_ids)
        if description_id(image) in row
    ]
    images = np.array([i for i, _ in pairs], dtype=np.int64)
    return images, np.array([t for _, t in pairs], dtype=np.int64)


def check_alignable(n_pairs: int, n_images: int, where: str) -> None:
    """ICP needs at least two (image, description) pairs; say so before any embedding."""
    if n_pairs < MIN_ALIGN_PAIRS:
        raise InputError(
            f"{where}: {n_pairs} of {n_images} images have a description; ICP "
            f"alignment fits on image-description pairs and needs at least "
            f"{MIN_ALIGN_PAIRS} (caption some images, or build without it: "
            "--no-align / align=False)"
        )


def aligner_state(aligner: ICPAligner | None) -> dict | None:
    """Return the arrays that :func:`aligner_from` needs (saved as ``align.npz``)."""
    if aligner is None:
        return None
    return {
        "rotation": aligner.rotation_,
        "mean_source": aligner.mean_source_,
        "mean_target": aligner.mean_target_,
    }


def aligner_from(state: dict | None) -> ICPAligner | None:
    """Rebuild a fitted :class:`ICPAligner` from :func:`aligner_state`'s arrays."""
    if state is None:
        return None
    aligner = ICPAligner(correspondence="paired")
    aligner.rotation_ = np.asarray(state["rotation"], dtype=np.float64)
    aligner.mean_source_ = np.asarray(state["mean_source"], dtype=np.float64)
    aligner.mean_target_ = np.asarray(state["mean_target"], dtype=np.float64)
    aligner.translation_ = aligner.mean_target_ - aligner.rotation_ @ aligner.mean_source_
    return aligner
