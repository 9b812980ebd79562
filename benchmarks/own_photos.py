"""Wall time from a folder of photos to a searchable index, as the README's commands run.

Generates a folder of ``--n`` JPEG photos (nested sub-folders, a sidecar caption for most
of them), saves an open_clip model of ``--model``'s architecture with random weights to a
file (or uses ``--pretrained``, a user's real weights), and times, each as a fresh
process: ``load folder``, ``index build --encoder open_clip:MODEL --pretrained FILE``,
and one ``search --text``. Prints the seconds per step and the images per second of the
build.

    python benchmarks/own_photos.py --n 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": (200, 40, 40), "green": (40, 160, 60), "blue": (40, 70, 200),
           "yellow": (220, 200, 40), "purple": (130, 50, 160)}
SHAPES = ("circle", "square")


def make_folder(root: Path, n: int, seed: int = 0, captioned: float = 0.8) -> None:
    """``n`` 320x240 JPEGs of one coloured shape each, in one sub-folder per shape; a
    ``.txt`` caption beside ``captioned`` of them."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    for i in range(n):
        colour, shape = names[rng.integers(len(names))], SHAPES[rng.integers(2)]
        image = Image.new("RGB", (320, 240), tuple(int(v) for v in rng.integers(0, 80, 3)))
        x, y, r = int(rng.integers(60, 260)), int(rng.integers(60, 180)), int(rng.integers(20, 55))
        draw = ImageDraw.Draw(image)
        (draw.ellipse if shape == "circle" else draw.rectangle)((x - r, y - r, x + r, y + r),
                                                                fill=COLOURS[colour])
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"photo_{i:05d}.jpg", quality=90)
        if rng.random() < captioned:
            size = "large" if r > 40 else "small"
            (folder / f"photo_{i:05d}.txt").write_text(f"a {size} {colour} {shape}\n")


def save_random_weights(model: str, path: Path) -> None:
    import open_clip
    import torch

    net = open_clip.create_model(model, pretrained=None)
    torch.save(net.state_dict(), path)


def run(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "textmanifold", *map(str, args)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"textmanifold {' '.join(map(str, args))} failed:\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="photos in the folder")
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture")
    parser.add_argument("--pretrained", type=Path,
                        help="real weights of --model (default: random weights, same cost)")
    parser.add_argument("--scratch", type=Path, help="work here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = args.scratch or Path(tmp)
        photos, coll, index = scratch / "photos", scratch / "coll", scratch / "index"
        start = time.perf_counter()
        make_folder(photos, args.n)
        made = time.perf_counter() - start
        weights = args.pretrained or scratch / f"{args.model}.pt"
        if not weights.exists():
            save_random_weights(args.model, weights)
        steps = {
            "load folder": run(["load", "folder", photos, coll, "--labels-from-folders",
                                "--no-progress", "--force"]),
            "index build": run(["index", "build", coll, "--out", index, "--encoder",
                                f"open_clip:{args.model}", "--pretrained", weights,
                                "--no-progress", "--force"]),
            "search --text": run(["search", index, "--text", "a large red circle",
                                  "--k", "10"]),
        }
    print(f"{args.n} photos ({made:.1f} s to generate) · open_clip {args.model} · "
          f"{os.cpu_count()} CPUs · torch threads default · load average "
          f"{os.getloadavg()[0]:.2f}")
    for step, seconds in steps.items():
        print(f"{step:<14} {seconds:>7.1f} s")
    print(f"total          {sum(steps.values()):>7.1f} s  "
          f"(index build {args.n / steps['index build']:.1f} images/s)")


if __name__ == "__main__":
    main()
