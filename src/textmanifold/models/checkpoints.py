"""The checkpoint of a run: where it lives, what it holds, reading and writing it.

Checkpoint (``RUN/checkpoints/last.pt``, written with ``torch.save`` through an atomic
rename): ``format``, ``step`` (batches done; the batch order is a pure function of it, see
:mod:`textmanifold.models.data`), ``samples_seen``, ``losses`` (one float per step so
far), ``curve`` and ``stopped_early`` (the learning curve so far), ``model_class``,
``model``, ``optimizer`` and ``scaler`` state dicts, and the torch CPU / CUDA RNG
states. :func:`~textmanifold.models.train.fit` writes it and resumes from it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .. import io
from ..errors import DataFormatError

__all__ = [
    "CHECKPOINT_FORMAT",
    "checkpoint_path",
    "load_checkpoint",
    "load_torch_file",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = 1


def checkpoint_path(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints" / "last.pt"


def load_torch_file(path: Path, what: str):
    """``torch.load`` of tensors only (``weights_only``); a bad file is one line naming it.

    torch's own message for a file that is not a tensor pickle is a paragraph of advice
    to load it unsafely; only its first and last lines say what is wrong.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        if reason.startswith("Weights only load failed"):
            reason = "not a PyTorch file of tensors"
        raise DataFormatError(f"{path}: not a readable {what} ({reason})") from None


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by :func:`~textmanifold.models.train.fit`; errors name
    the file."""
    state = load_torch_file(path, "checkpoint")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataFormatError(
            f"{path}: not a textmanifold checkpoint of format {CHECKPOINT_FORMAT}"
        )
    return state


def save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer,
    scaler,
    step: int,
    batch_size: int,
    losses: list[float],
    curve: list[dict] | None = None,
    stopped: bool = False,
) -> None:
    state = {
        "curve": [dict(point) for point in curve or []],
        "stopped_early": bool(stopped),
        "format": CHECKPOINT_FORMAT,
        "model_class": type(model).__name__,  # checked on load
        "step": step,
        "samples_seen": step * batch_size,
        "losses": list(losses),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    io.save_with(path, lambda handle: torch.save(state, handle))
