"""Images/s of ``train compose`` on this CPU with the old and the new training settings,
in one run, on the same data: float32 at 64 px (the demo before) against channels-last
and bfloat16 autocast at 64 px (same work, new arithmetic) and the demo's settings now
(bfloat16 + channels-last at 32 px).

Run: ``.venv/bin/python benchmarks/training.py [--collection runs/demo/data/cci]
[--rounds 3] [--steps 10] [--threads 2]``

Each mode trains TIRG (batch 32, d 128: the demo's compositor settings) through the real
loop (PNG decoding included); the modes take turns, ``--steps`` steps per turn by
resuming their run (exact), so a load that comes and goes hits them alike. Printed: the
median images/s per mode over ``--rounds`` turns and its ratio to float32, and the load
average. Without ``--collection`` a small CCI is generated first. The joint model's
speed against a plain ResNet-18 step is ``benchmarks/training_peer.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from textmanifold.models.runs import train_compose
from textmanifold.models.train import TrainSettings

MODES = {
    "float32 (before)": {},
    "channels-last": {"channels_last": True},
    "bfloat16": {"precision": "bfloat16"},
    "bfloat16 + channels-last": {"precision": "bfloat16", "channels_last": True},
    "demo now (bf16 + CL, 32 px)": {"precision": "bfloat16", "channels_last": True,
                                    "image_size": 32},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        collection = args.collection
        if collection is None:
            from textmanifold.synth.cci import generate_cci

            collection = generate_cci(tmp / "cci", depth=2, branching=10, seed=0,
                                      train_branches=60, progress=False)
        print(f"{args.threads} threads, {args.steps} steps x {args.rounds} rounds per mode, "
              f"load average {os.getloadavg()[0]:.2f} at start")
        rates: dict[str, list[float]] = {mode: [] for mode in MODES}
        for round_ in range(args.rounds + 1):  # round 0 warms up (kernel selection)
            for mode, extra in MODES.items():
                settings = TrainSettings(steps=(round_ + 1) * args.steps, batch_size=32,
                                         temperature=0.1, device="cpu", threads=args.threads,
                                         progress=False, **{"image_size": 64, **extra})
                result = train_compose(collection, tmp / f"mode{list(MODES).index(mode)}",
                                       method="tirg", dim=128, settings=settings,
                                       resume=True)
                if round_:
                    rates[mode].append(result.images_per_second)
        base = statistics.median(rates["float32 (before)"])
        print(f"{'mode':<30} {'images/s':>9} {'x float32':>10}")
        for mode, values in rates.items():
            rate = statistics.median(values)
            print(f"{mode:<30} {rate:>9.1f} {rate / base:>10.2f}")
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
