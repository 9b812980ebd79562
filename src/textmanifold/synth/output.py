"""Writing a generated Collection: the output directory, scenes first, images in parallel.

Shared by the CCI generator (:mod:`.cci`) and the category set (:mod:`.classes`), which
write the same way: refuse a non-empty directory unless resuming or forcing, write
``scenes.json`` before any image (a later resume checks it before keeping one), then
render the missing images, in a process pool when there is one.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import io
from ..collection import check_image_file
from ..errors import InputError
from . import render
from .scene import Scene

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PNG_LEVEL = 3  # zlib level: 3 is ~1.5x faster than 6 for ~15% larger files


def write_png(path: Path, image: np.ndarray) -> None:
    """Atomically write an RGB image as PNG with fixed options (reproducible bytes)."""
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    io.save_with(path, lambda handle: picture.save(handle, format="PNG", compress_level=PNG_LEVEL))


def write_scenes_first(out: Path, records: list[dict], resume: bool) -> None:
    """Write ``out/scenes.json``; when resuming, refuse if it differs from what is there.

    Called before any image is rendered, so that a resumed run never keeps images of
    other scenes.
    """
    path = out / "scenes.json"
    text = io.dumps_json({"scenes": records})
    if resume and path.exists() and path.read_text("utf-8", errors="replace") != text:
        raise InputError(
            f"{out}: was generated with other settings or code; use --force to overwrite it"
        )
    io.write_text(path, text)


def die_with_parent() -> None:
    """Pool initializer: the worker gets SIGTERM when its parent dies (Linux), so a killed
    generator leaves no worker writing images behind it. Elsewhere it does nothing."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the pool's own shutdown still applies
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def process_pool(workers: int) -> Iterator[multiprocessing.pool.Pool | None]:
    """A fork pool of ``workers`` processes, or None for one; terminated on any error."""
    pool = (
        multiprocessing.get_context("fork").Pool(workers, initializer=die_with_parent)
        if workers > 1
        else None
    )
    try:
        yield pool
    except BaseException:
        if pool is not None:
            pool.terminate()  # an error or Ctrl-C: stop the workers now
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def ordered_map(
    function: Callable,
    tasks: Sequence,
    pool=None,
    workers: int = 1,
    *,
    desc: str,
    unit: str = "scene",
    progress: bool = False,
) -> Iterable:
    """Results of ``function`` over ``tasks`` in order, in ``pool`` (of ``workers``
    processes) when there is one, with a progress bar."""
    from tqdm import tqdm

    if pool is not None:
        chunk = max(1, min(64, math.ceil(len(tasks) / (4 * workers))))
        results = pool.imap(function, tasks, chunksize=chunk)
    else:
        results = map(function, tasks)
    return tqdm(results, total=len(tasks), desc=desc, unit=unit, disable=not progress, leave=False)


def _render_to(task: tuple[Scene, Path, int, int]) -> None:
    scene, path, width, height = task
    write_png(path, render.render(scene, width, height))


def render_missing(
    scenes: Sequence[Scene],
    paths: Sequence[Path],
    width: int,
    height: int,
    *,
    resume: bool,
    pool=None,
    workers: int = 1,
    progress: bool = True,
    desc: str = "rendering",
) -> int:
    """Render ``scenes[i]`` to ``paths[i]`` (``width`` x ``height`` pixels), in ``pool``
    (of ``workers`` processes) when there is one; with ``resume``, keep files that
    already decode completely.

    Returns the number of images rendered.
    """
    tasks = [
        (scene, path, width, height)
        for scene, path in zip(scenes, paths, strict=True)
        if not (resume and check_image_file(path) is None)
    ]
    for folder in {Path(p).parent for p in paths}:
        folder.mkdir(parents=True, exist_ok=True)
    for _ in ordered_map(
        _render_to, tasks, pool, workers, desc=desc, unit="img", progress=progress
    ):
        pass
    return len(tasks)
