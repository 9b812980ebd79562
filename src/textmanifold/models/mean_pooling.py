"""Sentence embeddings of a mean-pooling sentence-transformers model, through transformers.

Importing ``sentence_transformers`` costs about 5 s here (it pulls in scikit-learn and its
training stack) — most of a one-shot ``textmanifold search --text``. The bundled
all-MiniLM-L6-v2 is three modules: a transformer, mean pooling over the attention mask,
L2 normalisation. :class:`MeanPoolingModel` computes exactly that with ``transformers``'
``AutoModel`` and ``AutoTokenizer`` (truncation at the model's ``max_seq_length``), and
is used only to embed *queries*; training and collection embeddings keep
sentence-transformers itself. :func:`supports` accepts only a model whose
``modules.json`` is that pipeline, and a test checks the vectors against
``SentenceTransformer.encode``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["MeanPoolingModel", "supports"]

_PIPELINE = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def supports(path: str | os.PathLike) -> bool:
    """Whether the model directory is transformer -> mean pooling -> normalize, with
    no lower-casing of its own."""
    path = Path(path)
    modules = _json(path / "modules.json")
    if not isinstance(modules, list) or [m.get("type") for m in modules] != _PIPELINE:
        return False
    if [m.get("path") for m in modules][:1] != [""]:
        return False
    pooling = _json(path / modules[1]["path"] / "config.json") or {}
    modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    config = _json(path / "sentence_bert_config.json") or {}
    return modes == {"pooling_mode_mean_tokens": True} and not config.get("do_lower_case")


class MeanPoolingModel:
    """``encode(texts) -> (n, d)`` float32 unit rows, as sentence-transformers gives them.

    Parameters
    ----------
    path : path-like
        A model directory that :func:`supports`.
    device : str
    """

    def __init__(self, path: str | os.PathLike, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its per-tensor "Loading weights" bar is noise
        path = Path(path)
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.net = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.max_length = int(
            (_json(path / "sentence_bert_config.json") or {}).get("max_seq_length", 512)
        )
        self.device = device

    def get_embedding_dimension(self) -> int:
        return int(self.net.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int = 64, **_options) -> np.ndarray:
        """(n, d) unit rows; ``_options`` (sentence-transformers' progress and conversion
        flags) are accepted and ignored, so this stands in for ``SentenceTransformer``."""
        torch, out = self._torch, []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                tokens = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.net(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(mean, p=2, dim=1).cpu().numpy())
        width = self.net.config.hidden_size
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, width), np.float32)
