"""Composed retrieval (Sec. 3.3, 4.4): source image + modification text -> target image.

Three compositors f_compose(psi_x, phi_t):

- :class:`~textmanifold.models.tirg.TIRG` (Vo et al. 2019): a gate
  ``sigmoid(MLP([psi, phi])) * psi`` plus a residual ``MLP([psi, phi])``, weighted by
  two learnable scalars (``"tirg"``);
- :class:`~textmanifold.models.tirg.TIRGConv`: the same on the last feature map with
  3x3 convolutions, as the paper describes TIRG (``"tirg-conv"``);
- :class:`Relation` (Santoro et al. 2017): every ordered pair of cells of the image's last
  feature map (with their coordinates), each pair concatenated with the text feature, goes
  through an MLP g; the pooled result goes through an MLP f (see the class for the
  normalisations that make it train).

:class:`InJoint` wraps either and inserts the projection g of the joint space before
composing (the paper's "in Joint"). :class:`ComposeModel` puts an image encoder, an LSTM
query-text encoder and a compositor together and computes Eq. 2:

- plain:    ``L(psi_xt, psi_target)``, composing the image encoder's features;
- in Joint: ``L(g(psi_x), g(phi_side)) + L(psi_xt, g(psi_target))`` with
  ``psi_xt = f_compose(g(psi_x), g(phi_query))`` and ``phi_side`` an image's
  description through a second, identical and separate LSTM encoder. The first (joint)
  term runs over a batch of its own: described training images (sources and targets
  alike, :mod:`textmanifold.models.runs`), not only the batch's sources.

L is Eq. 1 on L2-normalised features (TIRG's protocol normalises before its batch loss),
with a fixed temperature, or (``learn_scale``) google/tirg's learnable scale ``s``
(init 4) on both features instead: logits ``s^2 cos``.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..errors import InputError
from ..validation import check_option
from .encoders import BACKBONE_DIM, ImageEncoder, LSTMTextEncoder
from .joint import Projection
from .loss import info_nce, l2_normalize
from .tirg import TIRG, TIRGConv, balance_weights

__all__ = ["BALANCED_INIT", "METHODS", "TIRG", "ComposeModel", "InJoint", "Relation", "TIRGConv"]

METHODS = ("tirg", "tirg-conv", "relation")
#: The one default of ``balanced_init``: ComposeModel, ComposeModelConfig, train_compose.
BALANCED_INIT = True
SCALE_INIT = 4.0  # google/tirg's NormalizationLayer(normalize_scale=4.0, learn_scale=True)
_PROBE = 64  # probe inputs of the balanced initialisation


def _cell_coordinates(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(h*w, 2) cell centres in [-1, 1], row-major, as (x, y)."""
    ys = torch.linspace(-1.0, 1.0, h, dtype=like.dtype, device=like.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=like.dtype, device=like.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)


class Relation(nn.Module):
    """Relation network over feature-map cells, conditioned on text.

    Parameters
    ----------
    cell_dim : int
        Width c of each cell's feature (2 coordinates are appended to it).
    text_dim : int
        Width of the text feature.
    dim : int
        Output width.
    hidden : int
        Width of the MLPs g (3 layers) and f (2 layers).

    Notes
    -----
    ``forward(cells, phi)`` takes cells of shape (B, h, w, c) and phi (B, text_dim) and
    returns (B, dim). Departures from Santoro et al., all for trainability from scratch:

    - the objects and the text are batch-normalised first, as TIRG's composer does with
      ``[psi, phi]``: otherwise 512 image channels drown a few small text features and
      the model ignores the query;
    - the n^2 outputs of g are averaged, not summed, and f starts with a BatchNorm: that
      BatchNorm removes the component shared by the whole batch (which otherwise swamps
      the query-specific part and collapses every composed feature onto one direction)
      and makes mean and sum equivalent, with a scale that does not grow with the image
      size (4 cells at 64x64, 49 at 224x224).

    g's first layer acts on the concatenation ``[o_i, o_j, phi]``; it is evaluated as
    ``W_i o_i + W_j o_j + W_t phi + b`` (the same linear map, split by input block), so
    the (B, n^2, 2c + t) concatenation is never materialised.
    """

    def __init__(self, cell_dim: int, text_dim: int, dim: int, hidden: int = 256):
        super().__init__()
        self.object_dim = cell_dim + 2
        self.norm_objects = nn.BatchNorm1d(self.object_dim)
        self.norm_text = nn.BatchNorm1d(text_dim)
        self.g_first = nn.Linear(2 * self.object_dim + text_dim, hidden)
        self.g_rest = nn.Sequential(
            nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.f = nn.Sequential(
            nn.BatchNorm1d(hidden), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, dim)
        )

    def forward(self, cells: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = cells.shape
        coords = _cell_coordinates(h, w, cells).expand(b, h * w, 2)
        objects = torch.cat([cells.reshape(b, h * w, -1), coords], dim=2)  # (B, n, c+2)
        objects = self.norm_objects(objects.reshape(b * h * w, -1)).reshape(b, h * w, -1)
        phi = self.norm_text(phi)
        k = self.object_dim
        weight = self.g_first.weight
        first = objects @ weight[:, :k].T  # o_i's block, (B, n, H)
        second = objects @ weight[:, k : 2 * k].T  # o_j's block, (B, n, H)
        text = phi @ weight[:, 2 * k :].T + self.g_first.bias  # (B, H)
        pairs = first[:, :, None] + second[:, None, :] + text[:, None, None]  # (B, n, n, H)
        return self.f(self.g_rest(pairs).mean(dim=(1, 2)))


class InJoint(nn.Module):
    """Insert the joint projections g before a compositor: f(g_img(psi), g_text(phi)).

    ``g_img`` acts on the last axis, so it projects a (B, d) vector and every cell of a
    (B, h, w, d) map alike.
    """

    def __init__(self, compositor: nn.Module, dim: int):
        super().__init__()
        self.compositor = compositor
        self.g_img = Projection(dim, dim)
        self.g_text = Projection(dim, dim)

    def forward(self, psi: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        return self.compositor(self.g_img(psi), self.g_text(phi))


class ComposeModel(nn.Module):
    """Image encoder + LSTM query encoder + compositor, plain or in Joint.

    Parameters
    ----------
    method : {"tirg", "relation"}
    vocab_size : int
        Size of the :class:`~textmanifold.models.encoders.Vocabulary`.
    dim : int
        Width d of image, text and composed features.
    in_joint : bool
        Compose in the joint space (Eq. 2, both terms) instead of the image space.
    weights : None, "imagenet" or path-like
        Initial weights of the ResNet-18 backbone.
    relation_hidden : int
        Width of the Relation MLPs.
    learn_scale : bool
        Replace the fixed temperature by a learnable scale of both features (init 4).
    balanced_init : bool, default :data:`BALANCED_INIT` (True)
        In Joint, start TIRG's / TIRG-conv's two terms with equal norms on the joint
        space's unit vectors (:func:`~textmanifold.models.tirg.balance_weights`) instead
        of the authors' (1, 10).
    """

    def __init__(
        self,
        method: str,
        vocab_size: int,
        dim: int = 512,
        in_joint: bool = False,
        weights: str | os.PathLike | None = None,
        relation_hidden: int = 256,
        learn_scale: bool = False,
        balanced_init: bool = BALANCED_INIT,
    ):
        super().__init__()
        check_option("method", method, METHODS)
        self.method = method
        self.in_joint = in_joint
        self.image = ImageEncoder(dim, weights)
        self.query_text = LSTMTextEncoder(vocab_size, dim)
        # plain: the CNN's own cells (Santoro, TIRGLastConv); in Joint: cells through
        # head and g
        cell_dim = dim if in_joint else BACKBONE_DIM
        if method == "tirg":
            compositor: nn.Module = TIRG(dim)
        elif method == "tirg-conv":
            compositor = TIRGConv(cell_dim, dim)
        else:
            compositor = Relation(cell_dim, dim, dim, relation_hidden)
        if in_joint:
            self.side_text = LSTMTextEncoder(vocab_size, dim)
            self.compose = InJoint(compositor, dim)
            if balanced_init and method != "relation":
                self._balance(compositor, dim)
        else:
            self.compose = compositor
        self.scale = nn.Parameter(torch.tensor(SCALE_INIT)) if learn_scale else None

    @staticmethod
    def _balance(compositor: nn.Module, dim: int) -> None:
        """Balanced start on unit inputs, probed with a private generator (the global
        RNG, hence every other initial weight, is untouched)."""
        gen = torch.Generator().manual_seed(0)
        shape = (_PROBE, dim) if isinstance(compositor, TIRG) else (_PROBE, 2, 2, dim)
        psi = l2_normalize(torch.randn(shape, generator=gen))
        phi = l2_normalize(torch.randn(_PROBE, dim, generator=gen))
        balance_weights(compositor, psi, phi)

    # ------------------------------------------------------------ features

    def _psi(self, feature_map: torch.Tensor) -> torch.Tensor:
        """What the compositor composes, from the source's last feature map (B, 512, h, w).

        TIRG: psi_x = f_img(x), (B, d). TIRG-conv and Relation: the map's cells,
        (B, h, w, 512) plain, or f_img's head applied to each cell, (B, h, w, d), in
        Joint, where :class:`InJoint` then projects each by g into the joint space.
        """
        if self.method == "tirg":
            return self.image.fc(self.image.pool(feature_map))
        if self.in_joint:
            return self.image.cells(feature_map)
        return feature_map.permute(0, 2, 3, 1)

    def source_features(self, images: torch.Tensor) -> torch.Tensor:
        """Encode source images once; feed the result to :meth:`composed`."""
        return self._psi(self.image.feature_map(images))

    def composed(
        self, source: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """psi_xt for encoded sources and query texts, L2-normalised, (B, d).

        Plain TIRG-conv pools the composed map of backbone cells, then applies f_img's
        head (as TIRGLastConv applies the CNN's fc), so it lands in the targets' space.
        """
        out = self.compose(source, self.query_text(tokens, lengths))
        if self.method == "tirg-conv" and not self.in_joint:
            out = self.image.fc(out)
        return l2_normalize(out)

    def _nce(
        self, a: torch.Tensor, b: torch.Tensor, temperature: float, part: tuple[int, int] = (0, 1)
    ) -> torch.Tensor:
        """Eq. 1 on unit rows: fixed temperature, or the learnable scale on both sides;
        ``part`` is ``(rank, world_size)`` (default: one process)."""
        rank, world_size = part
        if self.scale is None:
            return info_nce(a, b, temperature, rank=rank, world_size=world_size)
        return info_nce(self.scale * a, self.scale * b, 1.0, rank=rank, world_size=world_size)

    def _target_space(self, psi: torch.Tensor) -> torch.Tensor:
        return self.compose.g_img(psi) if self.in_joint else l2_normalize(psi)

    def gallery_features(self, images: torch.Tensor) -> torch.Tensor:
        """Target-side features, L2-normalised, (B, d): g(f_img(x)) in Joint, else f_img(x)."""
        return self._target_space(self.image(images))

    # ------------------------------------------------------------ loss

    def loss(
        self,
        images: torch.Tensor,
        sources: torch.Tensor,
        targets: torch.Tensor,
        query_tokens: torch.Tensor,
        query_lengths: torch.Tensor,
        side_images: torch.Tensor | None = None,
        side_tokens: torch.Tensor | None = None,
        side_lengths: torch.Tensor | None = None,
        temperature: float = 1.0,
        *,
        rank: int = 0,
        world_size: int = 1,
    ) -> torch.Tensor:
        """Eq. 2 on a batch of B (source, query, target) triplets.

        Each distinct image of the batch is encoded once (a source that has several
        targets in the batch, say); the triplets index into them.

        Parameters
        ----------
        images : Tensor (U, 3, H, W)
            The batch's distinct images.
        sources, targets : Tensor (B,) int64
            Rows of ``images``.
        query_tokens, query_lengths : Tensor (B, T) and (B,), int64
        side_images : Tensor (S,) int64
            In Joint: the rows of ``images`` of the joint term's described images...
        side_tokens, side_lengths : Tensor (S, T') and (S,), int64
            ... and their descriptions (the first term of Eq. 2).
        temperature : float
            Eq. 1's temperature for both terms (unused with ``learn_scale``).
        rank, world_size : int, default 0 and 1
            This process's share of a data-parallel batch; both terms contrast the rows
            of every rank (:func:`~textmanifold.models.loss.info_nce`).
        """
        # index_select, not tensor[index]: the latter's backward accumulates repeated rows
        # with atomic adds in parallel on CPU, in a run-dependent order (bits differ).
        maps = self.image.feature_map(images)
        psi = self.image.fc(self.image.pool(maps))  # f_img of every image, (U, d)
        if self.method == "tirg":
            source = psi.index_select(0, sources)
        else:
            source = self._psi(maps.index_select(0, sources))
        composed = self.composed(source, query_tokens, query_lengths)
        part = (rank, world_size)
        loss = self._nce(
            composed, self._target_space(psi.index_select(0, targets)), temperature, part
        )
        if self.in_joint:
            if side_images is None or side_tokens is None or side_lengths is None:
                raise InputError("in-Joint training needs the source images' descriptions")
            phi_side = self.side_text(side_tokens, side_lengths)
            loss = loss + self._nce(
                self.compose.g_img(psi.index_select(0, side_images)),
                self.compose.g_text(phi_side),
                temperature,
                part,
            )
        return loss
