"""Real datasets -> Collections: ADE20K, Open Images, Fashion-IQ, CSS, CLEVR, and a plain
folder of the user's own images and captions.

Each loader reads a dataset in its official on-disk layout and returns a
:class:`LoadedDataset` (items, pairs, the config it records); :func:`load_dataset`
writes it as a Collection whose image paths resolve under the dataset's ROOT (images
are never copied). ``LOADERS`` maps a dataset name to its loader function::

    from textmanifold.loaders import load_dataset
    load_dataset("ade20k", "/data/ADE20K_2016_07_26", "runs/ade20k", release="2016")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ._common import LoadedDataset, write_loaded
from .ade20k import load_ade20k
from .clevr import load_clevr
from .css import load_css
from .fashioniq import load_fashioniq
from .folder import load_folder
from .openimages import load_openimages

LOADERS: dict[str, Callable[..., LoadedDataset]] = {
    "ade20k": load_ade20k,
    "openimages": load_openimages,
    "fashioniq": load_fashioniq,
    "css": load_css,
    "clevr": load_clevr,
    "folder": load_folder,
}


def load_dataset(
    name: str,
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    force: bool = False,
    **options: Any,
) -> Path:
    """Read dataset ``name`` from ``root`` and write it as a Collection in ``out``.

    ``out`` must be empty or absent unless ``force``; it is checked before the dataset is
    read (reading ADE20K takes minutes). ``options`` go to the loader (see each
    ``load_<name>`` function). Returns the collection directory.
    """
    from ..outputs import check_output_dir

    if name not in LOADERS:
        raise InputError(f"unknown dataset {name!r}; choose one of {', '.join(LOADERS)}")
    check_output_dir(out, None, force=force, resume=None)
    loaded = LOADERS[name](root, **options)
    return write_loaded(loaded, out, force=force)


__all__ = [
    "LOADERS",
    "LoadedDataset",
    "load_ade20k",
    "load_clevr",
    "load_css",
    "load_dataset",
    "load_fashioniq",
    "load_folder",
    "load_openimages",
]
