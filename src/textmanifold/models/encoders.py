"""The encoders: a ResNet-18 image encoder and an LSTM text encoder.

``ImageEncoder`` is the paper's visual module f_img (Sec. 3.1): torchvision's ResNet-18
with its classifier replaced by ``Linear(512, d)``. It also exposes the two
intermediate results other parts need: the pooled 512-d backbone feature (the paper's
"Resnet" space, exported as ``image_pretrained``) and the last spatial feature map
(what the Relation compositor reasons over).

``LSTMTextEncoder`` is the text encoder of the composed-retrieval models (Sec. 4.4: "a
standard LSTM, hidden size 512"), over a word :class:`Vocabulary` built from training
text. The frozen sentence-transformers text branch of the joint model lives in
:mod:`textmanifold.models.sentence` and is re-exported here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

from ..errors import DataFormatError, InputError, MissingFileError, TextManifoldError
from ..validation import check_positive_int
from .checkpoints import load_torch_file
from .sentence import SentenceTextEncoder

__all__ = [
    "BACKBONE_DIM",
    "ImageEncoder",
    "LSTMTextEncoder",
    "SentenceTextEncoder",
    "Vocabulary",
    "imagenet_weights_path",
    "tokenize",
]

BACKBONE_DIM = 512  # ResNet-18's pooled feature width


def imagenet_weights_path() -> Path:
    """Where torchvision caches ResNet-18's ImageNet weights (the file may be absent)."""
    from torchvision.models import ResNet18_Weights

    url = ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def check_backbone_weights(weights: str | os.PathLike | None) -> None:
    """Fail now, naming the file, if ``weights`` cannot start a ResNet-18 (before a
    trainer spends time on sentence embeddings or creates its run directory)."""
    if weights is not None:
        _backbone_state(weights)


def _backbone_state(weights: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a ResNet-18 state dict from ``"imagenet"`` (torchvision's cache) or a file.

    Never downloads: a missing cache file is an error telling the user where to put it.
    """
    if weights == "imagenet":
        path = imagenet_weights_path()
        if not path.is_file():
            raise TextManifoldError(
                f"ImageNet weights for ResNet-18 could not be loaded offline: {path} is not "
                "in torchvision's cache; download resnet18-f37072fd.pth there, or pass "
                "weights=None (train from scratch) or a path to a state dict"
            )
    else:
        path = Path(weights)
        if not path.is_file():
            raise MissingFileError(f"{path}: image encoder weights file not found")
    state = load_torch_file(path, "torch state dict")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # one of our own checkpoints
    if not isinstance(state, dict):
        raise DataFormatError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


class ImageEncoder(nn.Module):
    """f_img: ResNet-18 whose classifier is replaced by ``Linear(512, dim)``.

    Parameters
    ----------
    dim : int
        Output width d.
    weights : None, "imagenet" or path-like
        ``None`` initialises at random (seeded by the caller's torch seed);
        ``"imagenet"`` loads torchvision's cached ImageNet weights (never downloads);
        a path loads a ResNet-18 state dict (its ``fc`` entries are ignored).

    Notes
    -----
    Input: float tensor of shape (B, 3, H, W), ImageNet-normalised
    (see :mod:`textmanifold.models.data`). ``feature_map`` gives (B, 512, H/32, W/32),
    ``pooled`` (B, 512), ``forward`` (B, dim).
    """

    def __init__(self, dim: int = 512, weights: str | os.PathLike | None = None):
        super().__init__()
        from torchvision.models import resnet18

        self.dim = check_positive_int(dim, "dim")
        self.weights = None if weights is None else str(weights)
        net = resnet18(weights=None)
        if weights is not None:
            state = {k: v for k, v in _backbone_state(weights).items() if not k.startswith("fc.")}
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith("fc.")]
            if missing or unexpected:
                raise DataFormatError(
                    f"{weights}: not a ResNet-18 state dict "
                    f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
                )
        net.fc = nn.Identity()
        self.backbone = net
        self.fc = nn.Linear(BACKBONE_DIM, dim)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional feature map, shape (B, 512, H/32, W/32)."""
        net = self.backbone
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        return net.layer4(net.layer3(net.layer2(net.layer1(x))))

    @staticmethod
    def pool(feature_map: torch.Tensor) -> torch.Tensor:
        """Global average pooling of a feature map: (B, C, h, w) -> (B, C)."""
        return feature_map.mean(dim=(2, 3))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's pooled feature before any head, shape (B, 512)."""
        return self.pool(self.feature_map(x))

    def cells(self, feature_map: torch.Tensor) -> torch.Tensor:
        """The head applied to every cell of a feature map: (B, 512, h, w) -> (B, h, w, dim).

        The head is linear, so the mean over cells equals ``forward`` of the same image.
        """
        return self.fc(feature_map.permute(0, 2, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """psi_x = f_img(x), shape (B, dim)."""
        return self.fc(self.pooled(x))


# ----------------------------------------------------------------------------- text

_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words: runs of ASCII letters and digits; punctuation is dropped."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word -> index map built from training text, in a deterministic order.

    Index 0 is padding, 1 is the unknown word; the words follow in descending count,
    ties broken alphabetically, so the same texts always give the same indices.
    """

    PAD, UNK = 0, 1

    def __init__(self, words: Sequence[str]):
        self.words = list(words)
        self._index = {w: i + 2 for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        counts: dict[str, int] = {}
        for text in texts:
            for word in tokenize(text):
                counts[word] = counts.get(word, 0) + 1
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        if not ranked:
            raise InputError("cannot build a vocabulary: the training texts have no words")
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.words) + 2

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad token ids into (B, T) int64 and return them with lengths (B,) int64.

        An empty text becomes the single unknown token, so every length is at least 1.
        """
        ids = [[self._index.get(w, self.UNK) for w in tokenize(t)] or [self.UNK] for t in texts]
        lengths = torch.tensor([len(s) for s in ids], dtype=torch.int64)
        tokens = torch.full(
            (len(ids), int(lengths.max()) if ids else 1), self.PAD, dtype=torch.int64
        )
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = torch.tensor(seq, dtype=torch.int64)
        return tokens, lengths


class LSTMTextEncoder(nn.Module):
    """A word-embedding LSTM whose last hidden state goes through ``Linear(hidden, dim)``.

    Parameters
    ----------
    vocab_size : int
        ``len(Vocabulary)``.
    dim : int
        Output width d.
    hidden : int
        LSTM hidden size and word-embedding width (512, as in the paper and TIRG).

    Notes
    -----
    ``forward(tokens, lengths)`` takes (B, T) int64 ids and (B,) lengths and returns
    (B, dim): the hidden state after each text's last real token (padding is packed
    away, so it never changes the result).
    """

    def __init__(self, vocab_size: int, dim: int = 512, hidden: int = 512):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden, padding_idx=Vocabulary.PAD)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, dim)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        return self.fc(h_n[-1])
