"""Training speed of the joint model (Eq. 1) on a CUDA device, with and without AMP.

Run from the repository root on a machine with a GPU:
``python benchmarks/gpu/training_gpu.py [--batch-sizes 50 256] [--steps 20]``

Needs only torch and torchvision (it puts ``src/`` on the path; sentence embeddings are
random 384-d vectors, since the frozen sentence encoder runs once, before training, and
its embeddings are cached). For each image size (128, 224) and batch size it prints
training images/s of one SGD step of the joint model in float32 and under autocast
(bfloat16 where supported, else float16 with loss scaling: what ``train`` uses on CUDA),
and the same for plain ``torchvision.models.resnet18`` (1000-way cross-entropy) as the
peer; ``ours/peer`` is the cost of the joint model's heads and loss on top of the
backbone. Timings synchronise the device and skip warm-up steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from textmanifold.models.joint import JointModel  # noqa: E402


def timed(step, steps: int, batch_size: int) -> float:
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def joint_loss(net, images, sentences, labels):
    return net.loss(images, sentences)


def peer_loss(net, images, sentences, labels):
    return torch.nn.functional.cross_entropy(net(images), labels)


def make_step(net, loss_fn, batch, amp_dtype):
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = loss_fn(net, *batch)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[50, 256])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: benchmarks/training.py and training_peer.py time the CPU")
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, AMP dtype {half}")
    print(f"{'size':>5} {'batch':>6} {'precision':>10} {'ours img/s':>11} {'peer img/s':>11} "
          f"{'ours/peer':>10}")
    gen = torch.Generator(device=device).manual_seed(0)
    for size in args.sizes:
        for batch in args.batch_sizes:
            data = (torch.randn(batch, 3, size, size, device=device, generator=gen),
                    torch.randn(batch, 384, device=device, generator=gen),
                    torch.randint(0, 1000, (batch,), device=device, generator=gen))
            for name, dtype in (("float32", None), (str(half).split(".")[-1], half)):
                joint = JointModel(384, 512).to(device).train()
                ours = timed(make_step(joint, joint_loss, data, dtype), args.steps, batch)
                peer_net = torchvision.models.resnet18().to(device).train()
                peer = timed(make_step(peer_net, peer_loss, data, dtype), args.steps, batch)
                print(f"{size:>5} {batch:>6} {name:>10} {ours:>11.0f} {peer:>11.0f} "
                      f"{ours / peer:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
