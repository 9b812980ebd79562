"""The query-time MiniLM (transformers alone) against sentence-transformers itself."""

from __future__ import annotations

import json

import numpy as np

from textmanifold.models.mean_pooling import MeanPoolingModel, supports
from textmanifold.models.sentence import SentenceTextEncoder, default_model_path

SENTENCES = [
    "a red circle at the middle left",
    "",
    "café au lait, déjà vu",
    "two small blue rubber cubes behind a large metal sphere",
    " ".join(["a very long description"] * 120),
]  # past the 256-token limit


def test_the_same_vectors_as_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    path = default_model_path()
    assert supports(path)
    want = SentenceTransformer(str(path), device="cpu", local_files_only=True).encode(
        SENTENCES, convert_to_numpy=True
    )
    got = MeanPoolingModel(path).encode(SENTENCES, batch_size=2)
    np.testing.assert_allclose(got, want, atol=2e-6)
    fast = SentenceTextEncoder(cache_dir=False, fast=True, progress=False)
    np.testing.assert_allclose(fast.encode(SENTENCES), want, atol=2e-6)
    assert type(fast._net).__name__ == "MeanPoolingModel"


def test_other_pipelines_are_left_to_sentence_transformers(tmp_path):
    path = default_model_path()
    modules = json.loads((path / "modules.json").read_text())
    (tmp_path / "modules.json").write_text(json.dumps(modules[:2]))  # no Normalize
    assert not supports(tmp_path)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True})
    )
    (tmp_path / "sentence_bert_config.json").write_text("{}")
    assert not supports(tmp_path)
