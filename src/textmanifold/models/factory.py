"""One factory from a model config to its network (open_clip's ``create_model``).

Training (:func:`~textmanifold.models.runs.train_joint`,
:func:`~textmanifold.models.runs.train_compose`) and loading
(:func:`~textmanifold.models.runs.load_run`) both build their model here, so a run is
rebuilt with exactly the shape it was trained with.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from .compose import ComposeModel
from .joint import JointModel
from .records import ComposeModelConfig, JointModelConfig, ModelConfig

__all__ = ["build_model"]


def build_model(
    config: ModelConfig,
    *,
    train_sentences: torch.Tensor | None = None,
    image_branch: bool = True,
    initial_weights: bool = True,
) -> nn.Module:
    """The network of ``config``, initialised from torch's global RNG.

    Parameters
    ----------
    config : JointModelConfig or ComposeModelConfig
    train_sentences : Tensor (n, text_dim), optional
        Joint models: the training sentences that standardise the text input.
    image_branch : bool, default True
        Joint models: False leaves the ResNet out (a text-only model for sentences).
    initial_weights : bool, default True
        False skips what only a fresh model needs, because a checkpoint replaces it: the
        backbone's ``weights`` (ImageNet or a file) and the balanced start in Joint.

    Returns
    -------
    JointModel or ComposeModel
    """
    if not isinstance(config, JointModelConfig | ComposeModelConfig):
        raise InputError(
            f"build_model takes a JointModelConfig or a ComposeModelConfig, "
            f"not {type(config).__name__}"
        )
    weights = config.weights if initial_weights else None
    if isinstance(config, JointModelConfig):
        return JointModel(
            config.text_dim, config.dim, weights, train_sentences, image_branch=image_branch
        )
    return ComposeModel(
        config.method,
        config.vocab_size,
        config.dim,
        config.in_joint,
        weights,
        config.relation_hidden,
        learn_scale=config.learn_scale,
        balanced_init=config.balanced_init and initial_weights,
    )
