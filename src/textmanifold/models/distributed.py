"""Data-parallel training under ``torchrun``: DistributedDataParallel, done so that N
processes follow the loss trajectory of one process with the same global batch.

``torchrun --nproc_per_node N textmanifold train joint ...`` starts N copies of the
command; each finds ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` in its environment and
:func:`join` puts it in the process group (``nccl`` on CUDA, one GPU per process;
``gloo`` on CPU). Without torchrun (``WORLD_SIZE`` unset or 1) every helper here is a
no-op and training runs in one process, as before.

What makes N processes equal one:

- **Sharded batches.** The batch of step ``s`` is a pure function of ``s``
  (:mod:`textmanifold.models.data`); rank ``r`` loads the ``r``-th contiguous slice of
  it (:func:`shard_dataset`), so ranks' slices concatenated in rank order are the batch.
- **A global loss.** Eq. 1 contrasts every row with every other row of the batch.
  :func:`textmanifold.models.loss.info_nce` is given this process's ``rank`` and the
  ``world_size`` explicitly (as open_clip's ``ClipLoss(rank, world_size)``; the training
  closures of :mod:`textmanifold.models.runs` pass :func:`rank` / :func:`world_size`),
  and :func:`gather_rows` concatenates the ranks' rows in rank order; a rank's own rows
  keep their gradient, the others' come in as constants. Every rank then computes the
  one global loss; backpropagating ``world_size * loss``
  through its own rows and letting DDP average the gradients gives exactly the
  one-process gradient (each row's contribution counted once, on its own rank).
- **Global batch norm.** ResNet-18's batch norm must normalise with the whole batch's
  statistics: on CUDA torch's :class:`~torch.nn.SyncBatchNorm`; on CPU, where torch has
  none, :class:`GlobalBatchNorm2d` (sums all-reduced with autograd), active inside
  :func:`sharded_batches` (the training steps) only: a layer deep in the backbone has no
  argument through which to be told the rank.
- **Rank 0 writes.** Checkpoints, logs and run files come from rank 0 only
  (:func:`is_main`); every rank reads the checkpoint when resuming.

Composed-retrieval batches hold each *distinct* image once, and Eq. 2's side term one
row per distinct source; across ranks an image shared by two slices counts twice (in the
batch-norm statistics and, as a source, in the side term), so ``train compose`` follows
the one-process trajectory up to those duplicates (``train joint`` exactly, to float
rounding).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import nn

from ..errors import InputError

__all__ = [
    "GlobalBatchNorm2d",
    "RankSlice",
    "barrier",
    "gather_rows",
    "is_main",
    "join",
    "prepare",
    "rank",
    "shard_dataset",
    "sharded_batches",
    "world_size",
]

# True inside sharded_batches() under torchrun: GlobalBatchNorm2d then normalises with
# every rank's statistics (validation passes in one process's rows only).
_GATHERING = False


def world_size() -> int:
    """Processes in the job: ``WORLD_SIZE`` set by torchrun, else 1."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """True on the process that writes files (rank 0)."""
    return rank() == 0


def join(device: torch.device | None = None) -> None:
    """Enter the process group once (no-op in one process).

    On CUDA the process takes GPU ``LOCAL_RANK`` and the ``nccl`` backend; on CPU
    ``gloo``. The rendezvous comes from torchrun's ``MASTER_ADDR`` / ``MASTER_PORT``.
    """
    if world_size() == 1 or (dist.is_available() and dist.is_initialized()):
        return
    cuda = device is not None and device.type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")


def barrier(device: torch.device | None = None) -> None:
    """Wait for every rank (no-op in one process), joining the group for ``device`` first.

    The group is joined once: a barrier before training must pass the training device,
    or the later :func:`join` from :func:`prepare` finds a CPU (gloo) group already made.
    """
    if world_size() > 1:
        join(device)
        dist.barrier()


class RankSlice:
    """Batch maker for one rank: its contiguous slice of each step's example indices.

    Wraps a :class:`~textmanifold.models.data.BatchDataset`'s ``make_batch``; picklable,
    so DataLoader workers can load the slices. A step-aware batch maker (``with_step``)
    also gets the step and ``part=(rank, world)``, to take its share of any batch of its
    own (Eq. 2's joint term, :class:`~textmanifold.models.batches.ComposeBatches`).
    """

    def __init__(self, make_batch: Callable, rank_: int, share: int, world: int = 1):
        self.make_batch, self.rank, self.share, self.world = make_batch, rank_, share, world

    def __call__(self, indices, step: int | None = None):
        mine = indices[self.rank * self.share : (self.rank + 1) * self.share]
        if step is None:
            return self.make_batch(mine)
        return self.make_batch(mine, step, part=(self.rank, self.world))


def shard_dataset(dataset, rank_: int, world: int):
    """The :class:`~textmanifold.models.data.BatchDataset` of this rank's slices."""
    from .data import BatchDataset

    if dataset.batch_size % world:
        raise InputError(
            f"batch size {dataset.batch_size} must be divisible by the "
            f"{world} processes of torchrun"
        )
    share = dataset.batch_size // world
    return BatchDataset(
        RankSlice(dataset.make_batch, rank_, share, world),
        dataset.n,
        dataset.batch_size,
        dataset.seed,
        with_step=dataset.with_step,
    )


@contextmanager
def sharded_batches() -> Iterator[None]:
    """Within this block :class:`GlobalBatchNorm2d` uses every rank's rows (training steps)."""
    global _GATHERING
    previous, _GATHERING = _GATHERING, world_size() > 1
    try:
        yield
    finally:
        _GATHERING = previous


def gather_rows(x: torch.Tensor, *, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """All ranks' rows of ``x`` in rank order; this rank's keep their gradient.

    Parameters
    ----------
    x : Tensor of shape (n, ...)
        This process's rows (ranks may hold different counts).
    rank : int, default 0
        This process's rank, in ``[0, world_size)``.
    world_size : int, default 1
        Processes in the job; with 1, ``x`` is returned unchanged (no collective).

    Returns
    -------
    Tensor of shape (N, ...)
        The rows of every rank, concatenated in rank order.
    """
    if world_size == 1:
        return x
    if not 0 <= rank < world_size:
        raise InputError(f"rank {rank} is not in [0, {world_size})")
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world_size)]
    dist.all_gather(sizes, torch.tensor([len(x)], device=x.device))
    sizes = [int(n) for n in sizes]  # ranks may hold different counts (compose side rows)
    padded = x.new_zeros((max(sizes), *x.shape[1:]))
    padded[: len(x)] = x.detach()
    parts = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(parts, padded)
    parts = [part[:n] for part, n in zip(parts, sizes, strict=True)]
    parts[rank] = x
    return torch.cat(parts)


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) with autograd: the gradient of a sum is the summed gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone()
        dist.all_reduce(out)
        return out


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training statistics cover every rank's rows (CPU / gloo).

    Same parameters, buffers and state dict as ``BatchNorm2d``; in one process, in eval
    mode or outside :func:`sharded_batches` it is exactly ``BatchNorm2d``. The mean and
    the (biased) variance are two all-reduced sums, through autograd, so the gradient
    flows to every rank's rows as in one big batch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _GATHERING):
            return super().forward(x)
        dims = (0, 2, 3)
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype)
        dist.all_reduce(count)
        mean = _SumOverRanks.apply(x.sum(dims)) / count
        centred = x - mean[None, :, None, None]
        var = _SumOverRanks.apply((centred * centred).sum(dims)) / count
        if self.track_running_stats:
            with torch.no_grad():
                n = float(count)
                self.num_batches_tracked += 1
                m = (
                    self.momentum
                    if self.momentum is not None
                    else 1.0 / float(self.num_batches_tracked)
                )
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
        out = centred / torch.sqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            out = out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return out


class _LossForward(nn.Module):
    """The loss as a module's forward, so DDP sees (and synchronises) the whole step."""

    def __init__(self, model: nn.Module, loss_of_batch: Callable[[nn.Module, dict], torch.Tensor]):
        super().__init__()
        self.model, self.loss_of_batch = model, loss_of_batch

    def forward(self, batch: dict) -> torch.Tensor:
        return self.loss_of_batch(self.model, batch)


def prepare(model: nn.Module, loss_of_batch: Callable, dataset, device: torch.device):
    """Set up one training process; returns ``(model, step_loss, dataset, scale)``.

    In one process: the model, ``loss_of_batch`` bound to it, the dataset and 1. Under
    torchrun: the model with global batch norm, a DDP-wrapped loss, this rank's
    :func:`shard_dataset` and ``world_size`` (multiply the loss by it before ``backward``).
    """
    world = world_size()
    if world == 1:
        return model, lambda batch: loss_of_batch(model, batch), dataset, 1
    join(device)
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    else:
        for module in model.modules():
            if type(module) is nn.BatchNorm2d:
                module.__class__ = GlobalBatchNorm2d  # same state; statistics across ranks
    model.to(device)
    ids = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if device.type == "cuda"
        else None
    )
    wrapped = nn.parallel.DistributedDataParallel(
        _LossForward(model, loss_of_batch), device_ids=ids, find_unused_parameters=True
    )
    return model, wrapped, shard_dataset(dataset, rank(), world), world
