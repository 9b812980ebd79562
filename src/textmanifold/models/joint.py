"""The two-branch joint image-text network of Sec. 3.1 and its loss, Eq. 1.

Image branch: psi = g_img(f_img(x)), f_img the ResNet-18 encoder with a ``Linear(512, d)``
head. Text branch: phi = g_text(f_text(s)), s the frozen sentence embedding of the
description and f_text two ``Linear + ReLU`` layers learned from scratch. Each branch ends
in its own projection g (a ``Linear(d, d)`` followed by L2 normalisation), so matched
image and text land close on the unit sphere.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..validation import check_positive_int
from .encoders import ImageEncoder
from .loss import info_nce, l2_normalize

__all__ = ["JointModel", "Projection", "TextHead", "info_nce"]


class Projection(nn.Module):
    """g: ``Linear(dim_in, dim)`` then L2 normalisation over the last axis.

    Works on any leading shape, e.g. (B, d) vectors or (B, h, w, d) feature cells.
    """

    def __init__(self, dim_in: int, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim_in, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return l2_normalize(self.linear(x))


class TextHead(nn.Module):
    """f_text: two fully connected layers with ReLU, (B, text_dim) -> (B, dim).

    The sentence embeddings are first standardised with the training set's per-feature
    mean and standard deviation (fixed buffers, saved with the model). Descriptions of
    one domain embed close together (CCI's have a mean cosine of about 0.9), and layers
    learned from scratch on such inputs barely move; standardised, they train in tens of
    steps. The affine map could be folded into the first layer: the function class is
    the paper's.
    """

    def __init__(self, text_dim: int, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(text_dim))
        self.register_buffer("scale", torch.ones(text_dim))
        self.layers = nn.Sequential(
            nn.Linear(text_dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU()
        )

    def standardize_with(self, sentences: torch.Tensor) -> TextHead:
        """Set the standardisation from training sentences (n, text_dim); returns self."""
        with torch.no_grad():
            self.mean.copy_(sentences.mean(dim=0))
            std = sentences.std(dim=0) if len(sentences) > 1 else torch.ones_like(self.scale)
            self.scale.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
        return self

    def forward(self, sentences: torch.Tensor) -> torch.Tensor:
        return self.layers((sentences - self.mean) / self.scale)


class JointModel(nn.Module):
    """The joint embedding network.

    Parameters
    ----------
    text_dim : int
        Width of the sentence embeddings fed to the text branch (384 for MiniLM).
    dim : int
        Width d of f_img, f_text and the joint space.
    weights : None, "imagenet" or path-like
        Initial weights of the ResNet-18 backbone (see :class:`ImageEncoder`).
    train_sentences : Tensor (n, text_dim), optional
        The training sentences, whose statistics standardise the text input
        (:class:`TextHead`); when loading a trained model they come from its state dict.
    image_branch : bool, default True
        False builds the text branch only (``embed_texts``), for sentence queries.

    Notes
    -----
    ``embed_images`` maps (B, 3, H, W) images to (B, dim) unit vectors, ``embed_texts``
    maps (B, text_dim) sentence embeddings to (B, dim) unit vectors; ``loss`` is Eq. 1
    on a batch of matched pairs.
    """

    def __init__(
        self,
        text_dim: int,
        dim: int = 512,
        weights: str | os.PathLike | None = None,
        train_sentences: torch.Tensor | None = None,
        image_branch: bool = True,
    ):
        super().__init__()
        check_positive_int(text_dim, "text_dim")
        # image_branch=False: a text-only model for sentence queries (no ResNet to build)
        self.f_img = ImageEncoder(dim, weights) if image_branch else None
        self.f_text = TextHead(text_dim, dim)
        if train_sentences is not None:
            self.f_text.standardize_with(train_sentences)
        self.g_img = Projection(dim, dim)
        self.g_text = Projection(dim, dim)

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        if self.f_img is None:
            raise RuntimeError("this JointModel was built without its image branch")
        return self.g_img(self.f_img(images))

    def embed_texts(self, sentences: torch.Tensor) -> torch.Tensor:
        return self.g_text(self.f_text(sentences))

    def loss(
        self,
        images: torch.Tensor,
        sentences: torch.Tensor,
        temperature: float = 1.0,
        *,
        rank: int = 0,
        world_size: int = 1,
    ) -> torch.Tensor:
        """Eq. 1 with image i matched to sentence i of the batch.

        ``rank`` / ``world_size``: this process's share of a data-parallel batch, passed
        to :func:`~textmanifold.models.loss.info_nce` (defaults: one process).
        """
        return info_nce(
            self.embed_images(images),
            self.embed_texts(sentences),
            temperature,
            rank=rank,
            world_size=world_size,
        )
