"""TIRG (Vo et al. 2019): the fully connected variant and the convolutional one.

- :class:`TIRG` composes (B, d) vectors: a gate ``sigmoid(MLP([psi, phi])) * psi`` plus a
  residual ``MLP([psi, phi])``, weighted by two learnable scalars (init 1, 10).
- :class:`TIRGConv` composes on the image's last feature map, as the paper describes TIRG
  and as google/tirg's ``TIRGLastConv`` does: the text feature is tiled over the cells,
  two 3x3 convolutions (``BatchNorm2d -> Conv -> ReLU -> Conv``) give the residual and
  two more, through a sigmoid, the gate; the composed map is average-pooled.

Both start with a BatchNorm of ``[psi, phi]``, so the residual's size at initialisation
does not depend on the size of ``psi`` while the gated term does. The authors' weights
(1, 10) suit unnormalised image features; on the unit vectors of the joint space the
keep-the-source term starts several times weaker. :func:`balance_weights` sets the
residual weight so that both terms start with the same mean norm on unit inputs.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["TIRG", "TIRGConv", "balance_weights"]


class TIRG(nn.Module):
    """Text-Image Residual Gating on (B, dim) image and text features.

    Layers follow the authors' code: ``BatchNorm -> ReLU -> Linear`` for the gate,
    ``BatchNorm -> ReLU -> Linear -> ReLU -> Linear`` for the residual, and the two
    weights initialised to (1, 10).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.gate = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.residual = nn.Sequential(
            nn.BatchNorm1d(2 * dim),
            nn.ReLU(),
            nn.Linear(2 * dim, 2 * dim),
            nn.ReLU(),
            nn.Linear(2 * dim, dim),
        )
        self.weights = nn.Parameter(torch.tensor([1.0, 10.0]))

    def forward(self, psi: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        both = torch.cat([psi, phi], dim=1)
        gated = torch.sigmoid(self.gate(both)) * psi
        return self.weights[0] * gated + self.weights[1] * self.residual(both)


def _conv_block(both: int, channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm2d(both),
        nn.Conv2d(both, both, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(both, channels, 3, padding=1),
    )


class TIRGConv(nn.Module):
    """TIRG on the last feature map (google/tirg's ``TIRGLastConv``).

    Parameters
    ----------
    channels : int
        Width c of each cell of the image map.
    text_dim : int
        Width t of the text feature.

    Notes
    -----
    ``forward(cells, phi)`` takes cells (B, h, w, c) (channels last, like
    :class:`~textmanifold.models.compose.Relation`) and phi (B, t), and returns the
    average-pooled composed map, (B, c):
    ``mean_cells(w0 * sigmoid(gate(z)) * x + w1 * residual(z))`` with ``z`` the cells
    concatenated with the tiled text, (B, c + t, h, w).
    """

    def __init__(self, channels: int, text_dim: int):
        super().__init__()
        both = channels + text_dim
        self.gate = _conv_block(both, channels)
        self.residual = _conv_block(both, channels)
        self.weights = nn.Parameter(torch.tensor([1.0, 10.0]))

    def forward(self, cells: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        x = cells.permute(0, 3, 1, 2)  # (B, c, h, w)
        text = phi[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        z = torch.cat([x, text], dim=1)  # (B, c + t, h, w)
        out = self.weights[0] * torch.sigmoid(self.gate(z)) * x + self.weights[1] * self.residual(z)
        return out.mean(dim=(2, 3))


def balance_weights(compositor: TIRG | TIRGConv, psi: torch.Tensor, phi: torch.Tensor) -> float:
    """Set ``compositor.weights`` to ``(1, w)`` so both terms start with one mean norm.

    The two terms are measured on the probe inputs ``psi`` and ``phi`` (unit vectors or
    unit cells of the shapes the compositor takes) with a copy in training mode (its
    BatchNorms use the batch's statistics, as in the first training step; the
    compositor's own running statistics stay untouched).

    Returns
    -------
    float
        The residual weight ``w = mean ||gated term|| / mean ||residual term||``.
    """
    probe = copy.deepcopy(compositor).train()
    norms = []
    with torch.no_grad():
        for weights in ((1.0, 0.0), (0.0, 1.0)):
            probe.weights.copy_(torch.tensor(weights))
            norms.append(float(probe(psi, phi).norm(dim=-1).mean()))
        w = norms[0] / norms[1]
        compositor.weights.copy_(torch.tensor([1.0, w]))
    return w
