"""The training loop shared by the joint and the composed-retrieval models.

SGD (the paper: lr 0.01, batch 50), CPU or CUDA (mixed precision on CUDA), a progress bar
with the loss and images/s, and atomic checkpoints that make ``resume`` continue with
exactly the losses of an uninterrupted run (the checkpoint: :mod:`.checkpoints`, whose
names this module re-exports).

Under ``torchrun`` the same loop runs data-parallel (:mod:`textmanifold.models.distributed`);
rank 0 writes the checkpoints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, TextManifoldError
from ..validation import check_interval, check_option, check_positive_int
from . import distributed
from .checkpoints import (
    CHECKPOINT_FORMAT,
    checkpoint_path,
    load_checkpoint,
    load_torch_file,
    save_checkpoint,
)
from .curves import converged, plateau_reached
from .data import BatchDataset, iterate_batches

__all__ = [
    "CHECKPOINT_FORMAT",  # the checkpoint names are re-exported from .checkpoints
    "PRECISIONS",
    "TrainResult",
    "TrainSettings",
    "checkpoint_path",
    "fit",
    "load_checkpoint",
    "load_torch_file",
    "resolve_device",
]

PRECISIONS = ("float32", "bfloat16")


@dataclass
class TrainSettings:
    """How to train (the model's own shape is given separately).

    Attributes
    ----------
    steps : int
        Total number of SGD steps (a resumed run continues up to this many).
    batch_size : int
        Examples per step (the paper: 50).
    lr, momentum, weight_decay : float
        SGD parameters (the paper: lr 0.01; momentum and weight decay from TIRG's code).
    lr_step : int
        Multiply the learning rate by 0.1 every ``lr_step`` steps (TIRG's schedule);
        0 keeps it constant. A pure function of the step, so resuming needs no state.
    temperature : float
        Eq. 1's temperature (the paper: 1).
    image_size : int
        Images are resized to image_size x image_size pixels.
    seed : int
        Seeds the initial weights and the batch order.
    device : {"auto", "cpu", "cuda", ...}
        "auto" takes CUDA when available.
    amp : bool
        Mixed precision on CUDA (bfloat16 where supported, else float16 with loss
        scaling); ignored on CPU.
    precision : {"float32", "bfloat16"}
        On CPU, "bfloat16" runs the forward pass under torch's bfloat16 autocast (weights,
        gradients and the optimizer stay float32). See docs/decisions/learning.md.
    channels_last : bool
        Keep images and convolution weights in channels-last memory order (same math,
        faster convolutions on CPU).
    threads : int
        torch's intra-op thread count for this training (restored afterwards); 0: torch's
        current count (by default one per core). Recorded resolved in ``run.json``: a
        run's bytes depend on it.
    validation : int
        Training pairs held out (fixed whatever the seed) to measure a learning curve;
        0: none. The trainer chooses them (:mod:`textmanifold.models.runs`).
    eval_every : int
        Steps between two validation measurements (also one at the last step).
    patience, min_delta : int, float
        Stop early when the validation R@1 has not beaten its earlier best by more than
        ``min_delta`` for ``patience`` measurements (``curves.plateau_reached``); patience 0
        never stops early. The same rule sets ``converged`` in ``train_log.json``.
    checkpoint_every : int
        Steps between checkpoints (one is always written at the end).
    workers : int
        Image-loading worker processes (0: load in the main process).
    progress : bool
        Show a progress bar.
    """

    steps: int = 1000
    batch_size: int = 50
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-6
    lr_step: int = 0
    temperature: float = 1.0
    image_size: int = 128
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    precision: str = "float32"
    channels_last: bool = False
    threads: int = 0
    validation: int = 0
    eval_every: int = 50
    patience: int = 0
    min_delta: float = 0.005
    checkpoint_every: int = 500
    workers: int = 0
    progress: bool = True

    # Settings that change the sequence of losses; a resumed run must keep them.
    TRAJECTORY = (
        "batch_size",
        "lr",
        "momentum",
        "weight_decay",
        "lr_step",
        "temperature",
        "image_size",
        "seed",
        "precision",
        "channels_last",
        "validation",
    )

    def validate(self) -> None:
        check_interval("batch size", self.batch_size, 2, why="Eq. 1 needs negatives")
        check_interval("lr", self.lr, 0, closed="neither")
        check_interval("temperature", self.temperature, 0, closed="neither")
        check_interval(
            "image size", self.image_size, 32, unit="pixels", why="ResNet-18 downsamples 32x"
        )
        check_positive_int(self.checkpoint_every, "checkpoint_every")
        for name in (
            "steps",
            "lr_step",
            "workers",
            "threads",
            "validation",
            "patience",
            "min_delta",
        ):
            check_interval(name, getattr(self, name), 0)
        check_option("precision", self.precision, PRECISIONS)
        check_positive_int(self.eval_every, "eval_every")

    def thread_count(self) -> int:
        """``threads``, or where it is 0 torch's current intra-op thread count."""
        return self.threads or torch.get_num_threads()

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based)."""
        return self.lr * 0.1 ** (step // self.lr_step) if self.lr_step else self.lr


@dataclass
class TrainResult:
    """What :func:`fit` returns: the loss of every step so far and the speed of this call
    (NaN when it had no step left to train)."""

    losses: list[float] = field(default_factory=list)
    step: int = 0
    images_per_second: float = float("nan")
    curve: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    converged: bool | None = None

    def to_record(self) -> dict:
        """As JSON-ready data (a NaN speed becomes ``None``)."""
        record = asdict(self)
        if math.isnan(self.images_per_second):
            record["images_per_second"] = None
        return record


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA if available else CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r} (use auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for, but torch sees no CUDA device")
    return device


def _amp_dtype(device: torch.device, settings: TrainSettings) -> torch.dtype | None:
    if device.type == "cpu":
        return torch.bfloat16 if settings.precision == "bfloat16" else None
    if not settings.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _to_device(batch: dict, device: torch.device, channels_last: bool = False) -> dict:
    moved = {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
    }
    if channels_last and moved.get("images") is not None and moved["images"].dim() == 4:
        moved["images"] = moved["images"].contiguous(memory_format=torch.channels_last)
    return moved


def fit(
    model: nn.Module,
    loss_of_batch: Callable[[nn.Module, dict], torch.Tensor],
    dataset: BatchDataset,
    settings: TrainSettings,
    run_dir: Path,
    *,
    resume: bool = False,
    validate: Callable[[nn.Module], dict[str, float]] | None = None,
) -> TrainResult:
    """Train ``model`` for ``settings.steps`` steps, resuming from the run's checkpoint.

    Parameters
    ----------
    model : nn.Module
        Freshly built (its weights are replaced by the checkpoint's when resuming).
    loss_of_batch : callable
        ``loss_of_batch(model, batch) -> scalar tensor``; the batch is on the device.
    dataset : BatchDataset
        Gives the batch of each step: a dict of tensors whose ``"images"`` entry holds
        the step's decoded images (counted for the images/s figure).
    settings : TrainSettings
    run_dir : Path
        Where ``checkpoints/last.pt`` is written.
    resume : bool
        Continue from ``checkpoints/last.pt`` if it exists.
    validate : callable, optional
        ``validate(model) -> {"R@1": ..., "loss": ...}`` on held-out pairs, called in
        eval mode without gradients every ``settings.eval_every`` steps and at the last
        one; its points form the learning curve and drive the early stop.

    Returns
    -------
    TrainResult
        Losses of every step from 0 (the resumed ones included), the learning curve.
    """
    settings.validate()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(settings.thread_count())
    try:
        return _fit(model, loss_of_batch, dataset, settings, run_dir, resume, validate)
    finally:
        torch.set_num_threads(threads_before)


# C901: the epoch loop; its phases share optimiser, schedule and early-stop state.
def _fit(model, loss_of_batch, dataset, settings, run_dir, resume, validate) -> TrainResult:  # noqa: C901
    """:func:`fit` with the thread count set."""
    from tqdm import tqdm

    device = resolve_device(settings.device)
    model.to(device)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    # Under torchrun: DDP, global batch norm, this rank's slice of each batch (no-op alone).
    model, step_loss, dataset, world = distributed.prepare(model, loss_of_batch, dataset, device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    amp_dtype = _amp_dtype(device, settings)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    path = checkpoint_path(run_dir)
    step, losses, curve, stopped = 0, [], [], False
    if resume and path.is_file():
        state = load_checkpoint(path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        step, losses = int(state["step"]), [float(x) for x in state["losses"]]
        curve, stopped = list(state.get("curve", [])), bool(state.get("stopped_early", False))

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def measure() -> None:
        model.eval()
        with torch.no_grad(), autocast():
            curve.append({"step": step, **{k: float(v) for k, v in validate(model).items()}})
        model.train()

    def result(speed: float = float("nan")) -> TrainResult:
        return TrainResult(
            losses=losses[: settings.steps],
            step=min(step, settings.steps),
            images_per_second=speed,
            curve=curve,
            stopped_early=stopped,
            converged=converged(curve, settings.patience, settings.min_delta) if validate else None,
        )

    if step >= settings.steps or stopped:
        return result()
    if validate is not None and not curve:
        measure()  # the curve starts at the untrained model
    model.train()
    started, images = time.perf_counter(), 0
    bar = tqdm(
        total=settings.steps,
        initial=step,
        desc="training",
        unit="step",
        disable=not settings.progress or not distributed.is_main(),
    )
    try:
        for batch in iterate_batches(dataset, step, settings.steps, settings.workers):
            images += len(batch["images"]) * world
            batch = _to_device(batch, device, settings.channels_last)
            for group in optimizer.param_groups:
                group["lr"] = settings.lr_at(step)
            optimizer.zero_grad(set_to_none=True)
            with autocast(), distributed.sharded_batches():
                loss = step_loss(batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TextManifoldError(
                    f"the loss became {value} at step {step}; lower the learning rate (--lr)"
                )
            if world > 1:
                loss = loss * world  # see textmanifold.models.distributed
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            losses.append(value)
            step += 1
            rate = images / (time.perf_counter() - started)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", img_s=f"{rate:.1f}")
            if validate is not None and (step % settings.eval_every == 0 or step == settings.steps):
                measure()
                stopped = plateau_reached(
                    [p["R@1"] for p in curve], settings.patience, settings.min_delta
                )
            if (
                step % settings.checkpoint_every == 0 or step == settings.steps or stopped
            ) and distributed.is_main():
                save_checkpoint(
                    path,
                    model,
                    optimizer,
                    scaler,
                    step,
                    settings.batch_size,
                    losses,
                    curve,
                    stopped,
                )
            if stopped:
                break
    finally:
        bar.close()
    return result(images / (time.perf_counter() - started))
