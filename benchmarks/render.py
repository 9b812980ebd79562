"""How fast the numpy ray caster renders CLEVR-style scenes, PNG encoding included.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/render.py [--images 200]``

Prints ms per image at 320x240 and 128x128 (render alone, the mask alone, render + PNG)
in one process, and the projected wall time of the full 11,111-image CCI on 2 processes.
No peer is timed: CLEVR's own renderer is Blender (Cycles), which is not installed here;
the CLEVR paper's setup takes seconds per image on a GPU.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from textmanifold.synth.output import PNG_LEVEL
from textmanifold.synth.render import object_masks, render
from textmanifold.synth.scene import random_scene

CCI_IMAGES = 11_111
PROCESSES = 2


def encode_png(image: np.ndarray) -> bytes:
    """The PNG bytes the generators write (same zlib level), in memory."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


def per_image_ms(work, scenes) -> float:
    work(scenes[0])  # warm up caches and lazy imports
    start = time.perf_counter()
    for scene in scenes:
        work(scene)
    return (time.perf_counter() - start) / len(scenes) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    scenes = [random_scene(rng, 3, 10) for _ in range(args.images)]
    print(f"{args.images} random scenes, 3-10 objects, 1 process, PNG compress_level={PNG_LEVEL}")
    print("no peer timed: Blender (CLEVR's renderer) is not available on this machine")
    for width, height in ((320, 240), (128, 128)):
        masks = per_image_ms(lambda s, w=width, h=height: object_masks(s, w, h), scenes)
        alone = per_image_ms(lambda s, w=width, h=height: render(s, w, h), scenes)
        total = per_image_ms(lambda s, w=width, h=height: encode_png(render(s, w, h)), scenes)
        size = np.mean([len(encode_png(render(s, width, height))) for s in scenes[:20]])
        projected = CCI_IMAGES * total / 1e3 / PROCESSES
        print(f"{width}x{height}: mask {masks:.2f} ms, render {alone:.2f} ms, "
              f"render+PNG {total:.2f} ms/image ({1e3 / total:.0f} images/s), "
              f"PNG {size / 1024:.1f} KiB; {CCI_IMAGES} images on {PROCESSES} processes: "
              f"{projected:.0f} s (target 300 s)")


if __name__ == "__main__":
    main()
