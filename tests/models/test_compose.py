"""Compositors and Eq. 2: against hand-written references, gradients, overfit runs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _models_fixtures import cci_subset
from textmanifold.errors import InputError
from textmanifold.models.compose import TIRG, ComposeModel, InJoint, Relation
from textmanifold.models.embed import evaluate_compose_run
from textmanifold.models.loss import info_nce
from textmanifold.models.runs import train_compose
from textmanifold.models.train import TrainSettings

torch.set_num_threads(1)


def _bn_eval(bn: torch.nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def _randomize_bn(module: torch.nn.Module, gen: torch.Generator) -> None:
    for bn in module.modules():
        if isinstance(bn, torch.nn.BatchNorm1d):
            bn.running_mean.copy_(torch.randn(bn.num_features, generator=gen))
            bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)


def test_tirg_matches_its_formula():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    tirg = TIRG(dim=6).eval()
    _randomize_bn(tirg, gen)
    with torch.no_grad():
        tirg.weights.copy_(torch.tensor([0.7, 2.0]))
    psi, phi = torch.randn(5, 6, generator=gen), torch.randn(5, 6, generator=gen)
    both = torch.cat([psi, phi], dim=1)
    g_bn, g_lin = tirg.gate[0], tirg.gate[2]
    r_bn, r_lin1, r_lin2 = tirg.residual[0], tirg.residual[2], tirg.residual[4]
    gate = torch.sigmoid(F.linear(F.relu(_bn_eval(g_bn, both)), g_lin.weight, g_lin.bias))
    hidden = F.relu(F.linear(F.relu(_bn_eval(r_bn, both)), r_lin1.weight, r_lin1.bias))
    residual = F.linear(hidden, r_lin2.weight, r_lin2.bias)
    expected = 0.7 * gate * psi + 2.0 * residual
    torch.testing.assert_close(tirg(psi, phi), expected)
    assert torch.equal(TIRG(dim=3).weights, torch.tensor([1.0, 10.0]))  # the authors' init


def test_relation_matches_an_explicit_loop_over_pairs():
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    rel = Relation(cell_dim=3, text_dim=4, dim=5, hidden=8).eval()
    _randomize_bn(rel, gen)
    cells, phi = torch.randn(2, 2, 3, 3, generator=gen), torch.randn(2, 4, generator=gen)
    out = rel(cells, phi)
    assert out.shape == (2, 5)
    h, w = 2, 3
    expected = []
    for b in range(2):
        objects = []
        for row in range(h):
            for col in range(w):
                x, y = -1 + 2 * col / (w - 1), -1 + 2 * row / (h - 1)
                obj = torch.cat([cells[b, row, col], torch.tensor([x, y])])
                objects.append(_bn_eval(rel.norm_objects, obj))
        text = _bn_eval(rel.norm_text, phi[b])
        pair_outputs = [
            rel.g_rest(rel.g_first(torch.cat([oi, oj, text]))) for oi in objects for oj in objects
        ]  # all n^2 ordered pairs
        pooled = torch.stack(pair_outputs).mean(dim=0)
        expected.append(rel.f(pooled[None])[0])
    torch.testing.assert_close(out, torch.stack(expected), rtol=1e-5, atol=1e-5)


def test_in_joint_projects_before_composing():
    torch.manual_seed(2)
    inner = TIRG(dim=4).eval()
    wrapped = InJoint(inner, dim=4).eval()
    psi, phi = torch.randn(3, 4), torch.randn(3, 4)
    g_psi, g_phi = wrapped.g_img(psi), wrapped.g_text(phi)
    torch.testing.assert_close(g_psi.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(wrapped(psi, phi), inner(g_psi, g_phi))
    cells = torch.randn(3, 2, 2, 4)  # g acts on every cell alike
    torch.testing.assert_close(wrapped.g_img(cells)[:, 1, 0], wrapped.g_img(cells[:, 1, 0]))


def _batch(vocab_size=9):
    gen = torch.Generator().manual_seed(3)
    return {
        "images": torch.randn(5, 3, 64, 64, generator=gen),
        "sources": torch.tensor([0, 0, 1, 2]),
        "targets": torch.tensor([3, 4, 2, 1]),
        "query_tokens": torch.randint(2, vocab_size, (4, 3), generator=gen),
        "query_lengths": torch.tensor([3, 2, 1, 3]),
        "side_images": torch.tensor([0, 1, 2]),
        "side_tokens": torch.randint(2, vocab_size, (3, 4), generator=gen),
        "side_lengths": torch.tensor([4, 4, 2]),
    }


@pytest.mark.parametrize("method", ["tirg", "relation"])
@pytest.mark.parametrize("in_joint", [False, True])
def test_eq2_loss_and_gradients(method, in_joint):
    torch.manual_seed(4)
    model = ComposeModel(method, vocab_size=9, dim=6, in_joint=in_joint).eval()
    b = _batch()
    with torch.no_grad():
        source = model.source_features(b["images"])
        cells_or_vector = (6,) if method == "tirg" else (2, 2, 6 if in_joint else 512)
        assert source.shape == (5, *cells_or_vector)
        composed = model.composed(source[b["sources"]], b["query_tokens"], b["query_lengths"])
        gallery = model.gallery_features(b["images"])
        assert composed.shape == (4, 6) and gallery.shape == (5, 6)
        torch.testing.assert_close(composed.norm(dim=1), torch.ones(4))
        torch.testing.assert_close(gallery.norm(dim=1), torch.ones(5))
        expected = info_nce(composed, gallery[b["targets"]])
        if in_joint:  # + L(g(psi_x), g(phi_side)) over the distinct source images
            psi = model.image(b["images"][b["side_images"]])
            phi = model.side_text(b["side_tokens"], b["side_lengths"])
            expected = expected + info_nce(model.compose.g_img(psi), model.compose.g_text(phi))
        loss = model.loss(**b)
    torch.testing.assert_close(loss, expected)
    model.train()
    model.loss(**b, temperature=0.5).backward()
    trained = ["image.backbone.conv1.weight", "image.fc.weight", "query_text.lstm.weight_ih_l0"]
    if in_joint:
        trained += [
            "side_text.lstm.weight_ih_l0",
            "compose.g_img.linear.weight",
            "compose.g_text.linear.weight",
        ]
    else:
        assert not hasattr(model, "side_text")
    for name in trained:
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("method", ["tirg", "relation"])
def test_gradients_are_bit_identical_across_calls(method):
    """Repeated sources gather large feature maps: their backward must not accumulate in
    a run-dependent order (tensor[index] did, with parallel atomic adds on CPU)."""
    g = torch.Generator().manual_seed(1)
    images = torch.randn(60, 3, 64, 64, generator=g)
    sources = torch.randint(0, 60, (50,), generator=g)  # 50 x 512 x 2 x 2 cells, repeated
    targets = torch.randint(0, 60, (50,), generator=g)
    tokens = torch.randint(1, 50, (50, 9), generator=g)
    lengths = torch.randint(3, 10, (50,), generator=g)

    def gradients():
        torch.manual_seed(0)
        model = ComposeModel(method, vocab_size=50, dim=128)
        model.loss(images, sources, targets, tokens, lengths, temperature=0.1).backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the module runs on one thread; the race needs two
    try:
        first = gradients()
        for _ in range(5):
            assert all(torch.equal(a, b) for a, b in zip(first, gradients(), strict=True))
    finally:
        torch.set_num_threads(threads)


def test_in_joint_loss_needs_descriptions_and_methods_are_checked():
    model = ComposeModel("tirg", vocab_size=9, dim=6, in_joint=True)
    b = _batch()
    del b["side_tokens"]
    with pytest.raises(InputError, match="descriptions"):
        model.loss(**b)
    with pytest.raises(InputError, match="method must be one of"):
        ComposeModel("concat", vocab_size=9)


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    return cci_subset(tmp_path_factory.mktemp("cci"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "in_joint"),
    [("tirg", False), ("tirg", True), ("relation", False), ("relation", True)],
)
def test_composed_model_overfits_20_pairs(subset, tmp_path, method, in_joint):
    """R@1 = 1 on the training pairs (gallery: their 21 images, source excluded).

    The lr drops tenfold after 40 steps so that BatchNorm's running statistics, which
    evaluation uses, catch up with weights that moved fast while overfitting.
    """
    settings = TrainSettings(
        steps=80,
        batch_size=20,
        lr=0.03,
        lr_step=40,
        temperature=0.1,
        image_size=64,
        device="cpu",
        progress=False,
    )
    result = train_compose(
        subset, tmp_path / "run", method=method, in_joint=in_joint, dim=32, settings=settings
    )
    assert result.step == 80
    recall = evaluate_compose_run(tmp_path / "run", split="train", device="cpu", progress=False)
    assert (recall["queries"], recall["gallery"]) == (20, 21)
    assert recall["R@1"] == 1.0
