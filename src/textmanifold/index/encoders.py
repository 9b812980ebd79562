"""Embed collections and queries with an index's trained run (torch loads only here).

Two kinds of run give a joint image-text space:

- a ``joint`` run (Eq. 1): images ``g_img(f_img(x))``, sentences
  ``g_text(f_text(sentence embedding))``;
- a ``compose`` run trained in Joint (Eq. 2): images ``g(f_img(x))`` (its gallery
  features), sentences ``g(LSTM_side(s))`` (the first term of Eq. 2 aligns them), and a
  composed query ``f_compose(g(f_img(x)), g(LSTM_query(t)))`` in the same space. Only
  this kind answers ``modify=`` queries.

A compose run trained outside the joint space has no text branch in the image space and
cannot back an index.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingFileError
from .manifest import IndexManifest
from .store import file_checksum

__all__ = ["RunEncoder", "open_query_encoder", "run_checksum"]

BATCH = 64


def run_checksum(run_dir: str | os.PathLike) -> str:
    """SHA-256 of a run's ``run.json`` and last checkpoint (identifies the model)."""
    from ..models.train import checkpoint_path

    root = Path(run_dir)
    files = [root / "run.json", checkpoint_path(root)]
    for path in files:
        if not path.is_file():
            raise MissingFileError(f"{path}: file not found (is {root} a trained run?)")
    return file_checksum(*files)


def open_query_encoder(manifest: IndexManifest):
    """Open what embeds an index's text and image queries.

    The manifest's pretrained encoder, else its run (refused when the run changed since
    the build).
    """
    spec, model = manifest.encoder, manifest.model or {}
    if spec:
        from .pretrained import encoder_from_spec

        return encoder_from_spec(spec)
    if model.get("run"):
        if run_checksum(model["run"]) != model.get("checksum"):
            raise InputError(
                f"{model['run']}: the run changed since the index was "
                "built (checksum differs); rebuild the index"
            )
        return RunEncoder(model["run"])
    raise InputError(
        "this index was built from bare vectors without an encoder: "
        "it answers id and vector queries; for text and image "
        "queries build it with --encoder open_clip:MODEL --pretrained "
        "FILE, --encoder sentence-transformers, or a RUN"
    )


class RunEncoder:
    """Images, sentences and composed queries -> unit rows of a run's joint space.

    Parameters
    ----------
    run_dir : path-like
        A ``joint`` run, or a ``compose`` run with ``in_joint``.
    device : str, default "cpu"
    text_cache : path-like or False, default False
        Sentence-embedding cache of the joint run's text model (False: none).

    Attributes
    ----------
    kind : {"joint", "compose"}
    dim : int
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        *,
        device: str = "cpu",
        text_cache: str | os.PathLike | bool = False,
    ):
        from ..models.loading import read_run_record
        from ..models.train import resolve_device

        device = str(resolve_device(device))  # "cuda" without a GPU fails here, not later
        self.root = Path(run_dir)
        self.spec = {
            "kind": "run",
            "run": str(self.root.resolve()),
            "checksum": run_checksum(run_dir),
        }
        # The model loads on first use, and for sentences only what embeds them: a text
        # query on a joint run never builds the ResNet.
        self._full, self._text_only = None, None
        self.record = read_run_record(self.root)
        self.kind = self.record.kind
        model = self.record.model
        if self.kind == "compose" and not model.in_joint:
            raise InputError(
                f"{self.root} is a compose run trained outside the joint "
                "space; an index needs a joint run or a compose run --in-joint"
            )
        self.dim = model.dim
        self.spec.update(run_kind=self.kind, dim=self.dim)
        self.device = device
        self.text_cache = text_cache
        self._sentences = None

    @property
    def run(self):
        """The whole trained model (loaded on first use)."""
        if self._full is None:
            from ..models.runs import load_run

            self._full = load_run(self.root, self.device)
        return self._full

    def _text_run(self):
        """Load the model for sentences.

        A joint run's text branch alone, unless the whole model is already loaded.
        """
        if self._full is not None or self.kind != "joint":
            return self.run
        if self._text_only is None:
            from ..models.runs import load_run

            self._text_only = load_run(self.root, self.device, image_branch=False)
        return self._text_only

    @property
    def can_compose(self) -> bool:
        """The run has a compositor in the joint space (``modify=`` queries)."""
        return self.kind == "compose"

    def _images_tensor(self, images: Sequence) -> torch.Tensor:  # noqa: F821
        import torch

        from ..models.data import image_tensor, load_image

        size = self.run.settings.image_size
        rows = [
            load_image(im, size) if isinstance(im, str | os.PathLike) else image_tensor(im, size)
            for im in images
        ]
        return torch.stack(rows).to(self.device)

    def images(self, images: Sequence, *, progress: bool = False) -> np.ndarray:
        """(n, dim) float32 unit rows for image paths or PIL images."""
        import torch
        from tqdm import tqdm

        model = self.run.model
        embed = model.embed_images if self.kind == "joint" else model.gallery_features
        out = []
        with torch.no_grad():
            for start in tqdm(
                range(0, len(images), BATCH), desc="images", unit="batch", disable=not progress
            ):
                batch = self._images_tensor(images[start : start + BATCH])
                out.append(embed(batch).float().cpu().numpy())
        return _stack(out, self.dim)

    def texts(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """(n, dim) float32 unit rows for sentences."""
        import torch

        run = self._text_run()
        model = run.model
        out = []
        with torch.no_grad():
            if self.kind == "joint":
                sentences = self._sentence_encoder(progress).encode(list(texts))
                for start in range(0, len(sentences), 4096):
                    chunk = torch.from_numpy(sentences[start : start + 4096]).to(self.device)
                    out.append(model.embed_texts(chunk).float().cpu().numpy())
            else:
                for start in range(0, len(texts), BATCH):
                    tokens, lengths = run.vocab.encode(list(texts[start : start + BATCH]))
                    side = model.side_text(tokens.to(self.device), lengths.to(self.device))
                    out.append(model.compose.g_text(side).float().cpu().numpy())
        return _stack(out, self.dim)

    def composed(self, image, text: str) -> np.ndarray:
        """(1, dim) float32: the composed feature of a source image and a modification."""
        import torch

        if not self.can_compose:
            raise InputError(
                "this index's run is a joint run with no compositor; a modify "
                "query needs an index built from a compose run --in-joint"
            )
        model = self.run.model
        with torch.no_grad():
            source = model.source_features(self._images_tensor([image]))
            tokens, lengths = self.run.vocab.encode([text])
            out = model.composed(source, tokens.to(self.device), lengths.to(self.device))
        return out.float().cpu().numpy()

    def _sentence_encoder(self, progress: bool):
        if self._sentences is None:
            from ..models.sentence import SentenceTextEncoder

            self._sentences = SentenceTextEncoder(
                self.record.model.text_model,
                cache_dir=self.text_cache,
                device=self.device,
                progress=progress,
                fast=True,
            )
        self._sentences.progress = progress
        return self._sentences


def _stack(rows: list, dim: int) -> np.ndarray:
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
