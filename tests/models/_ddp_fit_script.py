"""Run by test_distributed: ``fit`` on a float64 ResNet-18 + text head.

Usage: ``python _ddp_fit_script.py RUN_DIR STEPS`` (alone or under torchrun); rank 0
writes the losses to RUN_DIR/losses.json. float64 makes rounding negligible, so one
process and N processes must agree to ~1e-10 if the data-parallel step is exact.
"""

import json
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn

from textmanifold.models import distributed
from textmanifold.models.data import BatchDataset
from textmanifold.models.loss import info_nce, l2_normalize
from textmanifold.models.train import TrainSettings, fit

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
torch.manual_seed(0)
IMAGES, TEXTS = torch.randn(24, 3, 32, 32), torch.randn(24, 5)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = torchvision.models.resnet18(num_classes=6)
        self.text = nn.Linear(5, 6)

    def loss(self, images, texts):
        return info_nce(
            l2_normalize(self.image(images)),
            l2_normalize(self.text(texts)),
            rank=distributed.rank(),
            world_size=distributed.world_size(),
        )


class Batches:
    def __call__(self, idx):
        return {"images": IMAGES[idx], "texts": TEXTS[idx]}


if __name__ == "__main__":
    out, steps = Path(sys.argv[1]), int(sys.argv[2])
    settings = TrainSettings(
        steps=steps, batch_size=8, lr=0.05, device="cpu", progress=False, checkpoint_every=2
    )
    result = fit(
        Model(),
        lambda net, b: net.loss(b["images"], b["texts"]),
        BatchDataset(Batches(), len(IMAGES), 8, 0),
        settings,
        out,
        resume=True,
    )
    if distributed.is_main():
        (out / "losses.json").write_text(json.dumps(result.losses))
