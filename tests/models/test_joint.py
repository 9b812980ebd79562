"""The joint model and Eq. 1: loss against cross-entropy, gradients, and an overfit run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _models_fixtures import cci_subset
from textmanifold.collection import load_embedding, read_collection
from textmanifold.errors import InputError
from textmanifold.evaluate.recall import recall_at_k
from textmanifold.models.embed import embed_joint_run
from textmanifold.models.joint import JointModel, info_nce
from textmanifold.models.runs import train_joint
from textmanifold.models.train import TrainSettings

torch.set_num_threads(1)


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_info_nce_equals_cross_entropy_on_the_logit_matrix(temperature):
    gen = torch.Generator().manual_seed(0)
    psi = F.normalize(torch.randn(7, 5, generator=gen), dim=1)
    phi = F.normalize(torch.randn(7, 5, generator=gen), dim=1)
    expected = F.cross_entropy(psi @ phi.T / temperature, torch.arange(7))
    torch.testing.assert_close(info_nce(psi, phi, temperature), expected)


def test_info_nce_hand_computed():
    eye = torch.eye(2)
    # logits [[1, 0], [0, 1]]: each row -log(e / (e + 1))
    assert info_nce(eye, eye).item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_info_nce_bad_input():
    with pytest.raises(InputError, match="must both be"):
        info_nce(torch.ones(3, 2), torch.ones(4, 2))
    with pytest.raises(InputError, match="temperature"):
        info_nce(torch.ones(3, 2), torch.ones(3, 2), temperature=0.0)


def test_joint_model_shapes_norms_and_gradients():
    torch.manual_seed(0)
    model = JointModel(text_dim=12, dim=6)
    images, sentences = torch.randn(4, 3, 64, 64), torch.randn(4, 12)
    psi, phi = model.embed_images(images), model.embed_texts(sentences)
    assert psi.shape == phi.shape == (4, 6) and psi.dtype == phi.dtype == torch.float32
    torch.testing.assert_close(psi.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(phi.norm(dim=1), torch.ones(4))
    loss = model.loss(images, sentences)
    torch.testing.assert_close(loss, info_nce(psi, phi))
    loss.backward()
    for name in (
        "f_img.backbone.conv1.weight",
        "f_img.fc.weight",
        "g_img.linear.weight",
        "f_text.layers.0.weight",
        "f_text.layers.2.weight",
        "g_text.linear.weight",
    ):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    return cci_subset(tmp_path_factory.mktemp("cci"))


@pytest.mark.slow
def test_joint_model_overfits_20_pairs(subset, tmp_path):
    """Every image retrieves its own description first (R@1 = 1) after 40 CPU steps."""
    coll = read_collection(subset)
    n = len(coll.images())
    settings = TrainSettings(
        steps=40,
        batch_size=n,
        lr=0.01,
        temperature=0.1,
        image_size=64,
        device="cpu",
        progress=False,
    )
    result = train_joint(
        subset, tmp_path / "run", dim=32, text_cache=tmp_path / "cache", settings=settings
    )
    assert result.step == 40 and result.losses[-1] < result.losses[0]
    embed_joint_run(
        subset, tmp_path / "run", device="cpu", text_cache=tmp_path / "cache", progress=False
    )
    images, image_ids = load_embedding(tmp_path / "run" / "embeddings" / "image.npy")
    texts, text_ids = load_embedding(tmp_path / "run" / "embeddings" / "text.npy")
    assert text_ids == ["text:" + i for i in image_ids]
    recall = recall_at_k(images, texts, np.arange(n), np.full(n, -1), ks=(1,))
    assert recall["R@1"] == 1.0


def test_text_head_standardizes_with_training_statistics():
    gen = torch.Generator().manual_seed(5)
    train = torch.randn(30, 4, generator=gen) * torch.tensor([1.0, 5.0, 0.1, 2.0]) + 3.0
    train[:, 3] = 7.0  # a constant feature keeps scale 1 instead of dividing by zero
    model = JointModel(text_dim=4, dim=3, train_sentences=train)
    head = model.f_text
    standardized = (train - head.mean) / head.scale
    torch.testing.assert_close(standardized[:, :3].mean(dim=0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(standardized[:, :3].std(dim=0), torch.ones(3))
    assert head.scale[3] == 1.0
    # the statistics are buffers: they travel in the state dict to a loaded model
    loaded = JointModel(text_dim=4, dim=3)
    loaded.load_state_dict(model.state_dict())
    torch.testing.assert_close(loaded.embed_texts(train), model.embed_texts(train))
