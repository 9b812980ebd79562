"""How fast ``generate_cci`` builds CCI end to end: planning, rendering, metadata.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cci_generation.py [--full]``

For depth 3 (1,111 images) at 320x240 and 128x128 on 2 worker processes it prints
images/s and the projected wall time of the full depth-4 set (11,111 images; planning,
rendering and reachability all grow linearly with the number of scenes). ``--full`` also
generates the full depth-4 set at 320x240 and times it. Target: the full set at 320x240
in under 5 minutes on 2 cores.

The peer is the renderer alone on the same scenes (render + PNG encoding in one
process, times the worker count): the ratio says what planning (changes, visibility
masks), reachability, the process pool and the metadata cost on top of the pixels.
CLEVR's own Blender pipeline is not installed here (the paper: seconds per image).
The machine's load average is printed: other jobs sharing the CPU slow every number.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from textmanifold.collection import read_collection
from textmanifold.synth.cci import generate_cci
from textmanifold.synth.output import write_png
from textmanifold.synth.reachability import mean_neighbours
from textmanifold.synth.render import render
from textmanifold.synth.scene import Scene

FULL_IMAGES = 11_111
TARGET_S = 300.0


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_generation(out: Path, depth: int, size: tuple[int, int],
                    workers: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one ``generate_cci`` run."""
    start, cpu = time.perf_counter(), cpu_seconds()
    generate_cci(out, depth=depth, size=size, workers=workers, progress=False)
    return time.perf_counter() - start, cpu_seconds() - cpu


def time_renderer_alone(out: Path, size: tuple[int, int], n: int) -> float:
    """Seconds per image to render and write ``n`` of the collection's scenes, 1 process."""
    scenes = [Scene.from_clevr_json(s) for s in read_collection(out).scenes[:n]]
    start = time.perf_counter()
    for k, scene in enumerate(scenes):
        write_png(out / "peer" / f"{k}.png", render(scene, *size))
    return (time.perf_counter() - start) / len(scenes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--peer-images", type=int, default=300)
    parser.add_argument("--full", action="store_true", help="also time the full depth-4 set")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{args.workers} workers, depth {args.depth}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in ((320, 240), (128, 128)):
            out = Path(tmp) / f"cci_{size[0]}x{size[1]}"
            seconds, cpu = time_generation(out, args.depth, size, args.workers)
            n = len(read_collection(out).images())
            rate = n / seconds
            peer = args.workers / time_renderer_alone(out, size, args.peer_images)
            print(f"{size[0]}x{size[1]}: {n} images in {seconds:.1f} s = {rate:.1f} images/s "
                  f"({cpu:.1f} CPU s, {cpu / n * 1e3:.1f} CPU ms/image); renderer alone "
                  f"x{args.workers}: {peer:.1f} images/s (generation / renderer = "
                  f"{rate / peer:.2f}); projected depth 4: {FULL_IMAGES / rate:.0f} s wall "
                  f"here, {FULL_IMAGES * cpu / n / args.workers:.0f} s on {args.workers} idle "
                  f"cores (target {TARGET_S:.0f} s)")
        if args.full:
            out = Path(tmp) / "cci_full"
            seconds, cpu = time_generation(out, 4, (320, 240), args.workers)
            coll = read_collection(out)
            print(f"full depth 4 at 320x240: {len(coll.images())} images in {seconds:.1f} s "
                  f"({cpu:.0f} CPU s: {cpu / args.workers:.0f} s on {args.workers} idle cores) "
                  f"({'under' if seconds < TARGET_S else 'OVER'} the {TARGET_S:.0f} s target); "
                  f"mean reachable neighbours {mean_neighbours(coll.reachable()):.2f} "
                  "(paper: 9.73)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
