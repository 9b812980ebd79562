"""TIRG on the last feature map, the balanced start in Joint and the learnable scale."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from textmanifold.models.compose import SCALE_INIT, ComposeModel
from textmanifold.models.tirg import TIRG, TIRGConv, balance_weights

torch.set_num_threads(1)


def test_tirg_conv_shapes_and_formula():
    torch.manual_seed(0)
    conv = TIRGConv(channels=3, text_dim=2).eval()
    gen = torch.Generator().manual_seed(1)
    cells, phi = torch.randn(4, 2, 3, 3, generator=gen), torch.randn(4, 2, generator=gen)
    out = conv(cells, phi)
    assert out.shape == (4, 3)
    # By hand: channels first, the text tiled over the 2 x 3 cells, convolutions, pooling.
    x = cells.permute(0, 3, 1, 2)
    z = torch.cat([x, phi[:, :, None, None].repeat(1, 1, 2, 3)], dim=1)

    def block(seq):
        bn, c1, c2 = seq[0], seq[1], seq[3]
        y = (z - bn.running_mean[None, :, None, None]) / torch.sqrt(
            bn.running_var[None, :, None, None] + bn.eps
        )
        y = y * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
        return F.conv2d(
            F.relu(F.conv2d(y, c1.weight, c1.bias, padding=1)), c2.weight, c2.bias, padding=1
        )

    expected = 1.0 * torch.sigmoid(block(conv.gate)) * x + 10.0 * block(conv.residual)
    torch.testing.assert_close(out, expected.mean(dim=(2, 3)))


def test_tirg_conv_gradcheck():
    torch.manual_seed(2)
    conv = TIRGConv(channels=2, text_dim=2).double().eval()
    gen = torch.Generator().manual_seed(3)
    cells = torch.randn(2, 2, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    phi = torch.randn(2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (cells, phi), eps=1e-6, atol=1e-5)
    # And with respect to the weights: the mixing scalars get the gradient of a sum.
    out = conv(cells, phi).sum()
    out.backward()
    assert conv.weights.grad is not None and conv.gate[1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("in_joint", [False, True])
def test_compose_model_tirg_conv(in_joint):
    torch.manual_seed(4)
    model = ComposeModel("tirg-conv", vocab_size=7, dim=6, in_joint=in_joint).train()
    gen = torch.Generator().manual_seed(5)
    images = torch.randn(4, 3, 32, 32, generator=gen)
    source = model.source_features(images)
    assert source.shape == (4, 1, 1, 6 if in_joint else 512)
    tokens = torch.randint(2, 7, (3, 4), generator=gen)
    lengths = torch.tensor([4, 3, 2])
    composed = model.composed(source[:3], tokens, lengths)
    assert composed.shape == (3, 6)
    torch.testing.assert_close(composed.norm(dim=1), torch.ones(3))
    extra = {}
    if in_joint:
        extra = {
            "side_images": torch.tensor([0, 1, 3]),
            "side_tokens": tokens,
            "side_lengths": lengths,
        }
    loss = model.loss(
        images, torch.tensor([0, 1, 2]), torch.tensor([1, 2, 3]), tokens, lengths, **extra
    )
    loss.backward()
    for name in ("compose.gate.1.weight", "compose.residual.3.weight", "image.fc.weight"):
        name = name.replace("compose.", "compose.compositor.") if in_joint else name
        assert model.get_parameter(name).grad.abs().sum() > 0, name


@pytest.mark.parametrize("make", [lambda: TIRG(8), lambda: TIRGConv(8, 8)])
def test_balance_weights_equalises_the_two_terms(make):
    torch.manual_seed(6)
    module = make()
    gen = torch.Generator().manual_seed(7)
    shape = (32, 8) if isinstance(module, TIRG) else (32, 2, 2, 8)
    psi = F.normalize(torch.randn(shape, generator=gen), dim=-1)
    phi = F.normalize(torch.randn(32, 8, generator=gen), dim=-1)
    before = [m.clone() for m in (module.gate[0].running_mean,)]
    w = balance_weights(module, psi, phi)
    assert torch.equal(module.gate[0].running_mean, before[0])  # running stats untouched
    assert module.weights.tolist() == pytest.approx([1.0, w])
    # Independent: the two terms by hand, with the batch's statistics (training mode).
    module.train()
    with torch.no_grad():
        full = module(psi, phi)
        module.weights.copy_(torch.tensor([1.0, 0.0]))
        gated = module(psi, phi)
    residual = full - gated
    assert gated.norm(dim=-1).mean() == pytest.approx(float(residual.norm(dim=-1).mean()), rel=1e-4)
    assert w < 10.0  # the authors' 10 over-weights the residual on unit vectors


def test_in_joint_tirg_starts_balanced_and_plain_keeps_the_authors_init():
    torch.manual_seed(8)
    joint = ComposeModel("tirg", vocab_size=5, dim=8, in_joint=True, balanced_init=True)
    plain = ComposeModel("tirg", vocab_size=5, dim=8, balanced_init=True)
    assert joint.compose.compositor.weights[1] != 10.0
    assert plain.compose.weights.tolist() == [1.0, 10.0]


def test_learnable_scale_replaces_the_temperature():
    torch.manual_seed(9)
    model = ComposeModel("tirg", vocab_size=5, dim=4, learn_scale=True)
    assert float(model.scale.detach()) == SCALE_INIT
    gen = torch.Generator().manual_seed(10)
    a = F.normalize(torch.randn(3, 4, generator=gen), dim=1)
    b = F.normalize(torch.randn(3, 4, generator=gen), dim=1)
    logits = 16.0 * a @ b.T  # s^2 cos with s = 4
    expected = F.cross_entropy(logits, torch.arange(3))
    torch.testing.assert_close(model._nce(a, b, temperature=0.1), expected)
    model._nce(a, b, 0.1).backward()
    assert model.scale.grad is not None
