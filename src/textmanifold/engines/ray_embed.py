"""Batch embedding on Ray Data: ``textmanifold embed COLLECTION RUN --engine ray``.

The image spaces of a joint run (``image``, ``image_pretrained``; the costly part) are
computed by a pool of Ray actors and written as ordered shards (:mod:`textmanifold.shards`,
the layout clip-retrieval writes and embedding-reader reads)::

    RUN/embeddings/image/{image_emb/{i}.npy, metadata/{i}.parquet, manifest.json}
    RUN/embeddings/image_pretrained/...

The Ray dataset holds one row per shard still to compute; ``map_batches`` runs the
callable class :class:`ShardEmbedder` on an actor pool, so each actor loads the model
once and then embeds whole shards, writing each shard's two files itself (a shared file
system, as on any Ray cluster that reads a common image store). The driver only writes
the manifests first and collects the shard numbers done. A killed job leaves complete
shards (each file is written atomically) and no half ones; running the command again
computes only :func:`textmanifold.shards.missing_shards`.

The text space is small (one sentence-encoder pass) and is computed in the driver, as
``--engine local`` does, into ``RUN/embeddings/text.npy``. The rows of every space are the
same as ``--engine local``'s, in the same order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import shards
from ..errors import InputError
from ..validation import check_interval, check_positive_int

__all__ = ["ShardEmbedder", "embed_joint_run_ray"]

IMAGE_SPACES = ("image", "image_pretrained")


class ShardEmbedder:
    """Ray Data callable class: embeds whole shards of a collection's images.

    Parameters
    ----------
    run_dir : str
        The joint run whose model embeds (loaded once, in the constructor).
    paths, ids : list of str
        Every image of the collection, in row order.
    shard_size : int
        Rows per shard.
    out : dict
        Space name -> sharded directory.
    device : str
        "cpu" or "cuda".
    batch_size : int
        Images per forward pass.
    """

    def __init__(
        self,
        run_dir: str,
        paths: list[str],
        ids: list[str],
        shard_size: int,
        out: dict[str, str],
        device: str,
        batch_size: int,
    ):
        import torch

        from ..models.embed import image_encoders
        from ..models.runs import load_run

        self.dev = torch.device(device)
        self.run = load_run(run_dir, device)
        self.encoders = image_encoders(self.run, self.dev)
        self.paths, self.ids = paths, ids
        self.ranges = shards.shard_ranges(len(paths), shard_size)
        self.out, self.batch_size = out, batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..models.embed import image_features

        for i in batch["shard"].tolist():
            start, stop = self.ranges[i]
            paths = [Path(p) for p in self.paths[start:stop]]
            for name, encode in self.encoders.items():
                X = image_features(
                    encode,
                    paths,
                    self.run.settings.image_size,
                    device=self.dev,
                    batch_size=self.batch_size,
                    progress=False,
                )
                shards.write_shard(
                    self.out[name], i, X, self.ids[start:stop], self.paths[start:stop]
                )
        return {"shard": batch["shard"]}


def _connect(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)


def embed_joint_run_ray(
    collection: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    address: str | None = None,
    shard_size: int = 10_000,
    gpus_per_worker: float = 0.0,
    workers: int | None = None,
    batch_size: int = 64,
    device: str = "auto",
    text_cache: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Embed a joint run's collection with Ray Data (module docstring); resumable.

    Parameters
    ----------
    address : str, optional
        Ray cluster: ``"auto"``, ``"ray://host:10001"``; default: the Ray already
        initialised in this process, else a local one.
    shard_size : int
        Images per shard (and per actor task).
    gpus_per_worker : float
        GPUs each actor reserves; > 0 embeds on CUDA in the actors.
    workers : int, optional
        Most actors at once (default: as many as shards to do, as the cluster fits).
    batch_size : int
        Images per forward pass.
    device : str
        The driver's device, for the text space.

    Returns
    -------
    dict
        Space name -> its sharded directory (images) or ``.npy`` file (text); the key
        ``"computed_shards"`` is not a space: it lists the shards this call computed.
    """
    import ray

    from ..collection import save_embedding
    from ..models.embed import joint_run_and_images, text_space
    from ..models.train import resolve_device

    check_positive_int(shard_size, "--shard-size")
    check_interval("--gpus-per-worker", gpus_per_worker, 0)
    dev = resolve_device(device)
    run, coll, images = joint_run_and_images(collection, run_dir, dev)
    paths = [str(coll.image_path(it)) for it in images]
    ids = [it.id for it in images]
    root = run.root / "embeddings"
    out = {name: root / name for name in IMAGE_SPACES}
    dims = {"image": run.record.model.dim, "image_pretrained": 512}
    source = {"collection": str(coll.root.resolve()), "run": str(run.root.resolve())}
    manifests = {
        name: shards.open_sharded(path, len(ids), shard_size, dims[name], source)
        for name, path in out.items()
    }
    todo = sorted(set().union(*(shards.missing_shards(out[n], m) for n, m in manifests.items())))
    if todo:
        _connect(address)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = workers or min(len(todo), cpus)
        dataset = ray.data.from_items([{"shard": i} for i in todo]).map_batches(
            ShardEmbedder,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=1,
            num_gpus=gpus_per_worker,
            fn_constructor_kwargs=dict(
                run_dir=str(run.root),
                paths=paths,
                ids=ids,
                shard_size=shard_size,
                out={k: str(v) for k, v in out.items()},
                device="cuda" if gpus_per_worker > 0 else "cpu",
                batch_size=batch_size,
            ),
        )
        done = sorted(int(row["shard"]) for row in dataset.iter_rows())
        if done != todo:
            raise InputError(f"Ray finished shards {done}, expected {todo}")
    text_path = root / "text.npy"
    save_embedding(text_path, *text_space(run, coll, dev, text_cache, progress))
    return {**out, "text": text_path, "computed_shards": todo}
