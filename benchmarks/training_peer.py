"""Training speed of the joint model (Eq. 1) on this CPU, against a plain ResNet-18 step.

Run: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/training_peer.py [--batch-size 50]
[--steps 5] [--sizes 128 224] [--threads 2]``

For each image size it prints three figures, all in training images/s:

- ``ours end-to-end``: ``train_joint`` on a generated CCI (320x240 PNGs decoded and
  resized every step, sentence embeddings from the cache), timed over ``--steps`` steps
  after one warm-up step (the run is resumed, which is exact);
- ``ours step``: one SGD step of the joint model (image branch, text branch, two
  projections, Eq. 1) on a batch already in memory (median over ``--steps`` steps,
  alternating with the peer's, so that a passing load hits both alike);
- ``peer step``: one SGD step of plain ``torchvision.models.resnet18`` (1000-way
  classifier, cross-entropy on random labels) on the same batch: the cost of the
  backbone alone.

``step / peer`` is what the joint model's heads and loss cost on top of the backbone;
``end-to-end / step`` what decoding PNGs costs. The machine's load average is printed:
other jobs sharing the CPU slow every number.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision

from textmanifold.collection import read_collection
from textmanifold.models.data import load_image
from textmanifold.models.joint import JointModel
from textmanifold.models.runs import train_joint
from textmanifold.models.sentence import SentenceTextEncoder
from textmanifold.models.train import TrainSettings
from textmanifold.synth.cci import generate_cci


def interleaved(step_a, step_b, batch_size: int, rounds: int) -> tuple[float, float]:
    """Images/s of two steps timed in alternation (median step time): a load that comes
    and goes on a shared machine then hits both alike."""
    step_a(), step_b()  # warm-up: allocations, oneDNN kernel selection
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for step, record in ((step_a, times[0]), (step_b, times[1])):
            start = time.perf_counter()
            step()
            record.append(time.perf_counter() - start)
    return batch_size / statistics.median(times[0]), batch_size / statistics.median(times[1])


def joint_step(model: JointModel, images: torch.Tensor, sentences: torch.Tensor):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model.loss(images, sentences).backward()
        optimizer.step()

    return step


def peer_step(images: torch.Tensor):
    net = torchvision.models.resnet18().train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    labels = torch.randint(0, 1000, (len(images),), generator=torch.Generator().manual_seed(0))

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()

    return step


def end_to_end(collection: Path, run: Path, size: int, batch_size: int, steps: int,
               cache: Path) -> float:
    common = dict(batch_size=batch_size, image_size=size, device="cpu", progress=False)
    train_joint(collection, run, text_cache=cache, settings=TrainSettings(steps=1, **common))
    result = train_joint(collection, run, text_cache=cache, resume=True,
                         settings=TrainSettings(steps=1 + steps, **common))
    return result.images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}, "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # depth 2, branching 7: 57 images, enough for one batch of 50
        coll_dir = generate_cci(tmp / "cci", depth=2, branching=7, seed=0, progress=False)
        coll = read_collection(coll_dir)
        items = coll.images()[:args.batch_size]
        sentences = torch.from_numpy(SentenceTextEncoder(cache_dir=tmp / "cache",
                                                         progress=False)
                                     .encode([it.text for it in items]))
        print(f"{'size':>5} {'ours end-to-end':>16} {'ours step':>10} {'peer step':>10} "
              f"{'step/peer':>10} {'e2e/step':>9}   (training images/s)")
        for size in args.sizes:
            images = torch.stack([load_image(coll.image_path(it), size) for it in items])
            torch.manual_seed(0)
            model = JointModel(sentences.shape[1], 512).train()
            ours, peer = interleaved(joint_step(model, images, sentences), peer_step(images),
                                     len(items), args.steps)
            e2e = end_to_end(coll_dir, tmp / f"run{size}", size, args.batch_size, args.steps,
                             tmp / "cache")
            print(f"{size:>5} {e2e:>16.1f} {ours:>10.1f} {peer:>10.1f} {ours / peer:>10.2f} "
                  f"{e2e / ours:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
