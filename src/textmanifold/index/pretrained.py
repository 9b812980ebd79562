"""Pretrained encoders an index can embed with.

open_clip from local weights, and the bundled sentence-transformers text model with an
image function of the user's.

Every encoder here (and :class:`~textmanifold.index.encoders.RunEncoder`) answers the same
small protocol: ``dim``, ``images(list) -> (n, dim)``, ``texts(list) -> (n, dim)`` (unit
float32 rows; ``None``-like absence is an :class:`InputError` naming what is missing),
``can_compose``, and ``spec``: the JSON record the index manifest keeps under
``"encoder"`` so that a later query rebuilds the same encoder (:func:`encoder_from_spec`)
and checks, by checksum, that its weights did not change.

Nothing is downloaded: an open_clip model is created from its architecture name (or a
JSON config file) with ``pretrained=`` a local weights file that must exist; a name
open_clip would fetch (``"openai"``, ``hf-hub:``) is refused.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingFileError, TextManifoldError
from ..images import open_rgb
from .store import file_checksum

__all__ = [
    "ENCODER_KINDS",
    "OpenClipEncoder",
    "SentenceEncoder",
    "encoder_from_spec",
    "parse_encoder",
]

#: The values ``--encoder`` takes (besides a trained run, given as RUN).
ENCODER_KINDS = ("open_clip:MODEL", "sentence-transformers")
BATCH = 64


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if (norms == 0).any() or not np.isfinite(rows).all():
        raise InputError("the encoder returned a zero or non-finite embedding")
    return rows / norms


def _pil(image):
    """Return a PIL RGB image from a path (decoded under the pixel bound) or a PIL image."""
    if isinstance(image, str | os.PathLike):
        return open_rgb(image)
    return image.convert("RGB")


def _weights_file(path: str | os.PathLike | None, what: str) -> Path:
    if path is None:
        raise InputError(
            f"{what} needs --pretrained FILE: a local weights file (this tool never downloads one)"
        )
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: {what} weights file not found")
    return path.resolve()


class _Pretrained:
    """What every pretrained encoder shares: no compositor."""

    can_compose = False

    def composed(self, image, text: str) -> np.ndarray:
        raise InputError(
            f"this index's encoder ({self.spec['kind']}) has no compositor; a "
            "modify query needs an index built from a compose run --in-joint"
        )


class OpenClipEncoder(_Pretrained):
    """An open_clip model (architecture name or JSON config) with local weights.

    Parameters
    ----------
    model : str
        An open_clip architecture (``ViT-B-32``, ``RN50``, ...) or a path to a JSON model
        config (``embed_dim``, ``vision_cfg``, ``text_cfg``), registered under its stem.
    pretrained : path-like
        The weights file (a state dict, as open_clip saves and loads them).
    device : str
    checksum : str, optional
        The SHA-256 the weights must have (a query against a recorded index).
    """

    def __init__(
        self,
        model: str,
        pretrained: str | os.PathLike | None,
        *,
        device: str = "cpu",
        checksum: str | None = None,
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import open_clip
            import torch
        except ImportError:
            raise InputError(
                "--encoder open_clip needs the open_clip package: pip install open_clip_torch"
            ) from None
        weights = _weights_file(pretrained, f"open_clip model {model!r}")
        digest = file_checksum(weights)
        if checksum is not None and digest != checksum:
            raise InputError(
                f"{weights}: the weights changed since the index was built "
                "(checksum differs); rebuild the index"
            )
        name, config = model, None
        if model.endswith(".json"):
            config = Path(model)
            if not config.is_file():
                raise MissingFileError(f"{config}: open_clip model config not found")
            open_clip.add_model_config(config.resolve())
            name, config = config.stem, str(config.resolve())
        if name.startswith(("hf-hub:", "local-dir:")) or name not in open_clip.list_models():
            raise InputError(
                f"--encoder open_clip:{model}: not an open_clip architecture of "
                "this installation (open_clip.list_models()), nor a JSON config"
            )
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=str(weights), device=device
            )
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise TextManifoldError(
                f"{weights}: cannot load it into open_clip {name!r} ({first[:200]})"
            ) from None
        net.eval()
        self._torch, self.net, self.preprocess = torch, net, preprocess
        self.tokenizer = open_clip.get_tokenizer(name)
        self.device = device
        self.dim = int(open_clip.get_model_config(name)["embed_dim"])
        self.spec = {
            "kind": "open_clip",
            "model": name,
            "config": config,
            "weights": str(weights),
            "checksum": digest,
            "dim": self.dim,
        }

    def images(self, images: Sequence, *, progress: bool = False) -> np.ndarray:
        """(n, dim) unit rows for image paths or PIL images."""
        from tqdm import tqdm

        torch, out = self._torch, []
        with torch.no_grad():
            for start in tqdm(
                range(0, len(images), BATCH), desc="images", unit="batch", disable=not progress
            ):
                batch = torch.stack(
                    [self.preprocess(_pil(im)) for im in images[start : start + BATCH]]
                )
                out.append(self.net.encode_image(batch.to(self.device)).float().cpu().numpy())
        return _unit(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    def texts(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """(n, dim) unit rows for sentences."""
        torch, out = self._torch, []
        with torch.no_grad():
            for start in range(0, len(texts), BATCH):
                tokens = self.tokenizer(list(texts[start : start + BATCH])).to(self.device)
                out.append(self.net.encode_text(tokens).float().cpu().numpy())
        return _unit(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)


class SentenceEncoder(_Pretrained):
    """The bundled sentence-transformers text model, with an optional image function.

    Parameters
    ----------
    image_function : str, optional
        ``module:function``: called with a list of PIL RGB images, it returns an
        ``(n, dim)`` array in the same space as the sentences (the user's own image
        branch). Without it the encoder answers text queries only.
    model : path-like, optional
        A sentence-transformers directory (default: the bundled all-MiniLM-L6-v2).
    device : str
    """

    def __init__(self, image_function: str | None = None, *, model=None, device: str = "cpu"):
        from ..models.sentence import SentenceTextEncoder

        self._sentences = SentenceTextEncoder(
            model, cache_dir=False, device=device, progress=False, fast=True
        )
        self._image = _import_function(image_function) if image_function else None
        self.dim = int(self._sentences.encode(["dimension probe"]).shape[1])
        self.spec = {
            "kind": "sentence-transformers",
            "model": str(self._sentences.model_path_),
            "image_function": image_function,
            "dim": self.dim,
        }

    def texts(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """(n, dim) unit rows for sentences."""
        self._sentences.progress = progress
        rows = self._sentences.encode(list(texts))
        return _unit(rows) if len(rows) else np.zeros((0, self.dim), np.float32)

    def images(self, images: Sequence, *, progress: bool = False) -> np.ndarray:
        """(n, dim) unit rows from the image function."""
        if self._image is None:
            raise InputError(
                "this index's encoder is sentence-transformers text only: it "
                "embeds no images (give --image-encoder module:function)"
            )
        rows = np.asarray(self._image([_pil(im) for im in images]), dtype=np.float32)
        if rows.shape != (len(images), self.dim):
            raise InputError(
                f"{self.spec['image_function']} returned shape {rows.shape} for "
                f"{len(images)} images; expected ({len(images)}, {self.dim})"
            )
        return _unit(rows)


def _import_function(text: str):
    module_name, _, name = text.partition(":")
    if not module_name or not name:
        raise InputError(f"--image-encoder must be module:function, got {text!r}")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"--image-encoder {text}: cannot import it ({exc})") from None
    if not callable(function):
        raise InputError(f"--image-encoder {text}: not a function")
    return function


def parse_encoder(
    encoder: str, *, pretrained=None, image_encoder: str | None = None, device: str = "cpu"
):
    """Open the encoder ``--encoder`` names (``open_clip:MODEL`` or ``sentence-transformers``)."""
    kind, _, model = encoder.partition(":")
    if kind == "open_clip" and model:
        return OpenClipEncoder(model, pretrained, device=device)
    if kind == "sentence-transformers" and not model:
        if pretrained is not None:
            raise InputError("--pretrained goes with --encoder open_clip:MODEL")
        return SentenceEncoder(image_encoder, device=device)
    raise InputError(f"--encoder must be one of {', '.join(ENCODER_KINDS)}, got {encoder!r}")


def encoder_from_spec(spec: dict, device: str = "cpu"):
    """Rebuild the encoder an index manifest records (weights checked by checksum)."""
    if spec.get("kind") == "open_clip":
        model = spec.get("config") or spec["model"]
        return OpenClipEncoder(
            model, spec.get("weights"), device=device, checksum=spec.get("checksum")
        )
    if spec.get("kind") == "sentence-transformers":
        return SentenceEncoder(spec.get("image_function"), model=spec.get("model"), device=device)
    raise InputError(f"unknown encoder kind {spec.get('kind')!r} in the index manifest")
