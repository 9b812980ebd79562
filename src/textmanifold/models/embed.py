"""Use a trained run: export the joint model's embeddings; evaluate a composed model.

``embed_joint_run`` writes ``RUN/embeddings/`` (float32 rows, ids in ``*.ids.json``):

- ``image.npy``: every image item of the collection, g_img(f_img(x)) (unit rows);
- ``text.npy``: the description of every image item that has one, with id
  ``"text:<image id>"``, then every text-only item with its own id: g_text(f_text(s));
- ``image_pretrained.npy``: every image item's pooled 512-d ResNet-18 feature from the
  run's backbone *before training* (ImageNet weights when the run used them): the paper's
  "Resnet" space, L2-normalised like the others.

``evaluate_compose_run`` computes R@K of a composed-retrieval run (protocol in
:mod:`textmanifold.ranking`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..collection import Collection, Item, read_collection, save_embedding, text_rows
from ..errors import InputError
from ..ranking import recall_at_k
from .data import iterate_images, load_image
from .loading import Run, initial_image_encoder, load_run
from .loss import l2_normalize
from .sentence import SentenceTextEncoder
from .train import resolve_device

__all__ = [
    "embed_joint_run",
    "evaluate_compose_run",
    "gallery_items",
    "image_encoders",
    "image_features",
    "joint_run_and_images",
    "text_space",
]


def image_features(
    encode: Callable[[torch.Tensor], torch.Tensor],
    paths: Sequence[Path],
    size: int,
    *,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: bool = True,
    desc: str = "images",
) -> np.ndarray:
    """``encode`` applied to every image of ``paths``, as a float32 (n, d) array."""
    out = []
    with (
        torch.no_grad(),
        tqdm(total=len(paths), desc=desc, unit="img", disable=not progress) as bar,
    ):
        for batch in iterate_images(paths, size, batch_size, workers):
            out.append(encode(batch.to(device)).float().cpu().numpy())
            bar.update(len(batch))
    return np.concatenate(out).astype(np.float32, copy=False)


def embed_joint_run(
    collection: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    batch_size: int = 64,
    workers: int = 0,
    device: str = "auto",
    text_cache: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Write ``RUN/embeddings/{image,text,image_pretrained}.npy`` (see module docstring).

    Returns
    -------
    dict
        Space name -> path of its ``.npy`` file.
    """
    dev = resolve_device(device)
    run, coll, images = joint_run_and_images(collection, run_dir, dev)
    paths = [coll.image_path(it) for it in images]
    size, image_ids = run.settings.image_size, [it.id for it in images]
    opts = dict(device=dev, batch_size=batch_size, workers=workers, progress=progress)
    spaces: dict[str, tuple[np.ndarray, list[str]]] = {
        name: (image_features(encode, paths, size, desc=name, **opts), image_ids)
        for name, encode in image_encoders(run, dev).items()
    }
    spaces["text"] = text_space(run, coll, dev, text_cache, progress)
    written = {}
    for name, (X, ids) in spaces.items():
        path = run.root / "embeddings" / f"{name}.npy"
        save_embedding(path, X, ids)
        written[name] = path
    return written


def joint_run_and_images(
    collection: str | os.PathLike, run_dir: str | os.PathLike, dev: torch.device
) -> tuple[Run, Collection, list[Item]]:
    """A joint run (loaded on ``dev``), its collection and the image items to embed."""
    run = load_run(run_dir, str(dev))
    if run.kind != "joint":
        raise InputError(f"{run.root} is a {run.kind} run; embed exports a joint run")
    coll = read_collection(collection)
    images = coll.images()
    if not images:
        raise InputError(f"{coll.root}: the collection has no image items")
    return run, coll, images


def image_encoders(
    run: Run, dev: torch.device
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The run's image spaces: name -> images (B, 3, H, W) on ``dev`` -> unit rows."""
    backbone = initial_image_encoder(run).to(dev)
    return {
        "image": run.model.embed_images,
        "image_pretrained": lambda x: l2_normalize(backbone.pooled(x)),
    }


def text_space(
    run: Run,
    coll: Collection,
    dev: torch.device,
    text_cache: str | os.PathLike | None,
    progress: bool,
) -> tuple[np.ndarray, list[str]]:
    """The run's text rows (see the module docstring) and their ids, shape (n, dim)."""
    text_ids, texts = text_rows(coll)
    model_cfg = run.record.model
    encoder = SentenceTextEncoder(
        model_cfg.text_model, cache_dir=text_cache, device=str(dev), progress=progress
    )
    sentences = encoder.encode(texts)
    if sentences.shape[1] != model_cfg.text_dim:
        raise InputError(
            f"the text model gives {sentences.shape[1]}-d sentences, the run was "
            f"trained on {model_cfg.text_dim}-d ones"
        )
    with torch.no_grad():
        rows = [
            run.model.embed_texts(torch.from_numpy(sentences[i : i + 4096]).to(dev))
            .float()
            .cpu()
            .numpy()
            for i in range(0, len(sentences), 4096)
        ]
    text = np.concatenate(rows) if rows else np.zeros((0, model_cfg.dim), np.float32)
    return text, text_ids


# ----------------------------------------------------------------------------- compose


def gallery_items(coll: Collection, split: str) -> list[Item]:
    """The images a query of ``split`` is ranked against, in item order.

    All image items of ``split`` (CCI's test split: the last iteration's 10,000 images,
    the paper's "target set"), plus any target of a pair of ``split`` that lies outside
    it, so every query can be answered. A collection whose images carry no such split
    (a loader that only splits pairs) gets every image that a pair of ``split`` names.
    """
    pairs = coll.pairs_of(split)
    in_split = {it.id for it in coll.images(split)}
    wanted = (
        in_split | {p.target for p in pairs}
        if in_split
        else {end for p in pairs for end in (p.source, p.target)}
    )
    return [it for it in coll.images() if it.id in wanted]


def _query_features(
    run: Run, coll: Collection, pairs, size: int, dev: torch.device, batch_size: int, progress: bool
) -> np.ndarray:
    """Composed features of ``pairs``; each distinct source image is encoded once."""
    by_id = {it.id: it for it in coll.items}
    sources = list(dict.fromkeys(p.source for p in pairs))
    slot = {s: i for i, s in enumerate(sources)}
    out = np.zeros((len(pairs), run.record.model.dim), dtype=np.float32)
    source_of = np.array([slot[p.source] for p in pairs])
    with (
        torch.no_grad(),
        tqdm(total=len(pairs), desc="queries", unit="query", disable=not progress) as bar,
    ):
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            images = torch.stack([load_image(coll.image_path(by_id[s]), size) for s in chunk])
            encoded = run.model.source_features(images.to(dev))
            rows = np.flatnonzero((source_of >= start) & (source_of < start + len(chunk)))
            for lo in range(0, len(rows), batch_size):
                part = rows[lo : lo + batch_size]
                tokens, lengths = run.vocab.encode([pairs[i].text for i in part])
                local = torch.from_numpy(source_of[part] - start).to(dev)
                out[part] = (
                    run.model.composed(encoded[local], tokens.to(dev), lengths.to(dev))
                    .float()
                    .cpu()
                    .numpy()
                )
                bar.update(len(part))
    return out


def evaluate_compose_run(
    run_dir: str | os.PathLike,
    collection: str | os.PathLike | None = None,
    *,
    split: str = "test",
    ks: Sequence[int] = (1, 10, 50),
    batch_size: int = 64,
    workers: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> dict:
    """R@K of a composed-retrieval run on the pairs of ``split``.

    The gallery is :func:`gallery_items`; each query's own source image is excluded from
    its ranking. ``collection`` defaults to the one the run was trained on.

    Returns
    -------
    dict
        ``R@k`` for each k, and ``queries``, ``gallery``, ``split``, ``method``,
        ``in_joint``.
    """
    dev = resolve_device(device)
    run = load_run(run_dir, str(dev))
    if run.kind != "compose":
        raise InputError(f"{run.root} is a {run.kind} run; eval compose needs a compose run")
    coll = read_collection(collection or run.record.collection)
    pairs = coll.pairs_of(split)
    if not pairs:
        raise InputError(f"{coll.root}: no pairs in split {split!r}")
    gallery = gallery_items(coll, split)
    row = {it.id: i for i, it in enumerate(gallery)}
    size = run.settings.image_size
    G = image_features(
        run.model.gallery_features,
        [coll.image_path(it) for it in gallery],
        size,
        device=dev,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        desc="gallery",
    )
    Q = _query_features(run, coll, pairs, size, dev, batch_size, progress)
    target = np.array([row[p.target] for p in pairs])
    exclude = np.array([row.get(p.source, -1) for p in pairs])  # -1: not in the gallery
    result = recall_at_k(Q, G, target, exclude, ks=ks)
    m = run.record.model
    result.update(
        queries=len(pairs), gallery=len(gallery), split=split, method=m.method, in_joint=m.in_joint
    )
    return result
