"""Wall time of one ``textmanifold search`` per query kind, as a user runs it.

Each kind (``--id``, ``--vector``, ``--text``, ``--image``) is run as a fresh process
``--repeat`` times against the same index, and the median is printed with whether the
process imported torch. With ``--before-src`` (the ``src/`` of another checkout, e.g.
``git worktree add /tmp/before <commit>``) the same commands run on that code too, in
the same run, and the ratio is printed.

    python benchmarks/cli_queries.py runs/demo/index --before-src /tmp/before/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WRAPPER = ("import atexit, sys; atexit.register(lambda: sys.stderr.write("
           "'\\nTORCH=%d\\n' % ('torch' in sys.modules))); "
           "from textmanifold.cli import main; main()")


def _queries(index: Path, scratch: Path) -> dict[str, list[str]]:
    ids = json.loads((index / "ids.json").read_text())
    vector = np.load(index / "vectors.npy", mmap_mode="r")[0]
    np.save(scratch / "q.npy", np.asarray(vector))
    image = next((json.loads(line)["path"] for line in open(index / "items.jsonl")
                  if '"kind":"image"' in line and '"path":"' in line), None)
    out = {"id": ["--id", ids[0]], "vector": ["--vector", str(scratch / "q.npy")],
           "text": ["--text", "a large red metal cube on the left"]}
    if image:
        out["image"] = ["--image", image]
    return out


def _time(src: Path, index: Path, args: list[str], repeat: int) -> tuple[float, bool]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    times, torch = [], False
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", WRAPPER, "search", str(index), *args,
                               "--k", "10"], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{src}: search {' '.join(args)} failed:\n{done.stderr}")
        torch = "TORCH=1" in done.stderr
    return statistics.median(times), torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--before-src", type=Path, help="src/ of the code to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    after = Path(__file__).resolve().parents[1] / "src"
    print(f"index {args.index} · load average {os.getloadavg()[0]:.2f} · "
          f"median of {args.repeat} fresh processes per cell")
    print(f"{'query':<8} {'after s':>8} {'torch':>6}" +
          (f" {'before s':>9} {'torch':>6} {'before/after':>13}" if args.before_src else ""))
    with tempfile.TemporaryDirectory() as scratch:
        for kind, query in _queries(args.index, Path(scratch)).items():
            t_after, torch_after = _time(after, args.index, query, args.repeat)
            line = f"{kind:<8} {t_after:>8.2f} {'yes' if torch_after else 'no':>6}"
            if args.before_src:
                t_before, torch_before = _time(args.before_src, args.index, query,
                                               args.repeat)
                line += (f" {t_before:>9.2f} {'yes' if torch_before else 'no':>6} "
                         f"{t_before / t_after:>12.2f}x")
            print(line)


if __name__ == "__main__":
    main()
