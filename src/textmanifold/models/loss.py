"""Eq. 1 of the paper: the in-batch softmax (InfoNCE) loss with a dot-product kernel."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..validation import check_interval
from .distributed import gather_rows

__all__ = ["info_nce", "l2_normalize"]


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Rows scaled to unit Euclidean norm (a zero row stays zero instead of NaN)."""
    return F.normalize(x, p=2.0, dim=-1, eps=eps)


def info_nce(
    psi: torch.Tensor,
    phi: torch.Tensor,
    temperature: float = 1.0,
    *,
    rank: int = 0,
    world_size: int = 1,
) -> torch.Tensor:
    """Eq. 1: mean over i of -log softmax_j(<psi_i, phi_j> / temperature)[i].

    Parameters
    ----------
    psi, phi : Tensor of shape (B, d)
        Row i of ``psi`` is matched with row i of ``phi``; the other rows of ``phi`` are
        its negatives. The paper feeds L2-normalised features (kappa = dot product).
    temperature : float
        Divides the logits. The paper's Eq. 1 has none, i.e. 1.0.
    rank, world_size : int, default 0 and 1
        This process's rank and the number of processes (as open_clip's
        ``ClipLoss(rank, world_size)``). With ``world_size > 1`` the batch is the rows of
        every rank (:func:`~textmanifold.models.distributed.gather_rows`): each rank
        computes the one global loss; its own rows keep their gradient.

    Returns
    -------
    Tensor, scalar (float32 even under autocast)
    """
    if psi.ndim != 2 or psi.shape != phi.shape:
        raise InputError(
            f"psi and phi must both be (B, d); got {tuple(psi.shape)} and {tuple(phi.shape)}"
        )
    check_interval("temperature", temperature, 0, closed="neither")
    psi = gather_rows(psi, rank=rank, world_size=world_size)
    phi = gather_rows(phi, rank=rank, world_size=world_size)
    logits = psi.float() @ phi.float().T / temperature
    # log-softmax of row i at column i, written out as Eq. 1 (the test compares it with
    # F.cross_entropy on the same logits).
    return (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
