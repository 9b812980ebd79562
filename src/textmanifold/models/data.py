"""Images and batches for training and export: PIL decoding, a resumable batch order.

The batch order is a pure function of ``(seed, n, batch_size, step)``: epoch e visits the
examples in ``default_rng([seed, e]).permutation(n)``, cut into ``n // batch_size``
batches (the remainder is dropped, so a batch never holds an example twice and every
batch has the same size). Resuming at step s therefore needs nothing but s.

Loading happens in a ``torch.utils.data.DataLoader`` (optionally with worker processes);
a loading problem travels back as a message and is raised in the main process as a
one-line :class:`~textmanifold.errors.TextManifoldError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import DataFormatError, InputError, MissingFileError, TextManifoldError
from ..images import open_rgb

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BatchDataset",
    "ImageFiles",
    "batch_indices",
    "check_files",
    "image_tensor",
    "iterate_batches",
    "iterate_images",
    "load_image",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """Read an image as an ImageNet-normalised (3, size, size) float32 tensor.

    The whole image is resized (bilinear, no crop): synthetic scenes put objects near the
    borders, and a crop would cut them out of the picture the text describes.
    """
    return image_tensor(open_rgb(path), size)


def image_tensor(image, size: int) -> torch.Tensor:
    """A PIL image as an ImageNet-normalised (3, size, size) float32 tensor.

    Converted to RGB and resized (bilinear, no crop) as :func:`load_image` does.
    """
    from PIL import Image

    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    array = (array - np.asarray(IMAGENET_MEAN, dtype=np.float32)) / np.asarray(
        IMAGENET_STD, dtype=np.float32
    )
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def check_files(paths: Sequence[Path]) -> None:
    """Raise on the first missing image, before any training starts."""
    for path in paths:
        if not Path(path).is_file():
            raise MissingFileError(f"{path}: image file not found")


def batch_indices(n: int, batch_size: int, seed: int, step: int, stream: int = 0) -> np.ndarray:
    """Example indices of batch ``step`` (see the module docstring), shape (batch_size,).

    ``stream`` > 0 gives an independent order of the same kind (seeded by
    ``[seed, epoch, stream]``), e.g. for a second batch drawn at every step.
    """
    if batch_size < 1 or n < batch_size:
        raise InputError(f"batch size {batch_size} needs 1 <= batch size <= {n} examples")
    per_epoch = n // batch_size
    epoch, position = divmod(step, per_epoch)
    key = [seed, epoch] if stream == 0 else [seed, epoch, stream]
    order = np.random.default_rng(key).permutation(n)
    return order[position * batch_size : (position + 1) * batch_size]


class BatchDataset(Dataset):
    """Dataset whose item ``step`` is the whole training batch of that step.

    ``make_batch(indices)`` (with ``with_step``: ``make_batch(indices, step)``) turns
    example indices into a dict of tensors; an error it raises is returned as
    ``{"error": message}`` so that it crosses process boundaries intact.
    """

    def __init__(
        self,
        make_batch: Callable[..., dict],
        n: int,
        batch_size: int,
        seed: int,
        with_step: bool = False,
    ):
        self.make_batch = make_batch
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.with_step = with_step

    def __len__(self) -> int:  # unbounded in principle; the sampler picks the steps
        return 2**62

    def __getitem__(self, step: int) -> dict:
        try:
            indices = batch_indices(self.n, self.batch_size, self.seed, step)
            if self.with_step:
                return self.make_batch(indices, step)
            return self.make_batch(indices)
        except TextManifoldError as exc:
            return _error(exc)


class ImageFiles(Dataset):
    """Dataset of decoded images: item i is a (3, size, size) tensor or an error dict."""

    def __init__(self, paths: Sequence[Path], size: int):
        self.paths = list(paths)
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            return load_image(self.paths[i], self.size)
        except TextManifoldError as exc:
            return _error(exc)


def _error(exc: TextManifoldError) -> dict:
    """An exception as plain data, to cross from a worker process unchanged."""
    return {"error": str(exc), "kind": type(exc).__name__}


def _raise_if_error(batch) -> None:
    if isinstance(batch, dict) and "error" in batch:
        kinds = {cls.__name__: cls for cls in (DataFormatError, MissingFileError)}
        raise kinds.get(batch["kind"], TextManifoldError)(batch["error"])


def _private_generator() -> torch.Generator:
    # A DataLoader draws its workers' base seed from this generator; a private one keeps
    # the global torch RNG (saved in checkpoints) untouched by loading.
    return torch.Generator().manual_seed(0)


def iterate_batches(dataset: BatchDataset, start: int, stop: int, workers: int = 0):
    """Yield the batches of steps ``start .. stop - 1`` in order, loaded by ``workers``."""
    loader = DataLoader(
        dataset,
        batch_size=None,
        sampler=range(start, stop),
        num_workers=workers,
        prefetch_factor=2 if workers else None,
        generator=_private_generator(),
    )
    for batch in loader:
        _raise_if_error(batch)
        yield batch


def iterate_images(paths: Sequence[Path], size: int, batch_size: int = 64, workers: int = 0):
    """Yield (B, 3, size, size) tensors of ``paths`` in order, ``batch_size`` at a time."""

    def collate(rows):
        errors = [row for row in rows if isinstance(row, dict)]
        return errors[0] if errors else torch.stack(rows)

    loader = DataLoader(
        ImageFiles(paths, size),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        generator=_private_generator(),
    )
    for batch in loader:
        _raise_if_error(batch)
        yield batch
