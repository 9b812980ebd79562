"""Decoding image files and bytes, with one bound on their size for every caller.

A small compressed file can decode to a huge image (a 389 KB PNG of 20000 x 20000
pixels is 1.2 GB of RGB), so the header's size is checked before any pixel is decoded:
the CLI, the loaders, the trainers and the HTTP server all refuse images above
:data:`MAX_IMAGE_PIXELS`, with a message that names the file.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from .errors import DataFormatError, MissingFileError

__all__ = ["MAX_IMAGE_PIXELS", "image_problem", "open_rgb"]

#: Largest image decoded anywhere in the project, pixels (8000 x 8000: a 48-megapixel
#: phone photo fits, a decompression bomb does not).
MAX_IMAGE_PIXELS = 64_000_000


def open_rgb(
    source: str | os.PathLike | bytes,
    *,
    name: str | None = None,
    max_pixels: int = MAX_IMAGE_PIXELS,
):
    """Decode an image file (or its bytes) completely, as an RGB PIL image.

    Parameters
    ----------
    source : path-like or bytes
        The file, or its encoded bytes (an upload).
    name : str, optional
        How messages call the image (default: the path, or ``"image"`` for bytes).
    max_pixels : int
        Images with more pixels are refused from their header, before decoding.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``; for an animated image, its first frame.

    Raises
    ------
    MissingFileError
        ``source`` is a path that is not a file.
    DataFormatError
        Not an image, truncated, or larger than ``max_pixels``.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, bytes | bytearray):
        name, handle = name or "image", io.BytesIO(source)
    else:
        path = Path(source)
        name = name or str(path)
        if not path.is_file():
            raise MissingFileError(f"{name}: image file not found")
        handle = path
    try:
        with warnings.catch_warnings():  # PIL warns between its two bounds; ours is lower
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(handle)  # reads the header only
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise DataFormatError(
                    f"{name}: {width}x{height} pixels is more than the "
                    f"{max_pixels:,} this tool decodes"
                )
            image.load()  # every byte: a truncated file fails here, not later
            return image.convert("RGB")
    except Image.DecompressionBombError:  # PIL's own bound, far above ours
        raise DataFormatError(
            f"{name}: more pixels than the {max_pixels:,} this tool decodes"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(f"{name}: unreadable image ({exc})") from None


def image_problem(path: str | os.PathLike) -> str | None:
    """One line naming what is wrong with an image file, or None if it decodes."""
    try:
        open_rgb(path)
    except (MissingFileError, DataFormatError) as exc:
        return str(exc)
    return None
