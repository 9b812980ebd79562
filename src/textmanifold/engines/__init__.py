"""Scale-out adapters on existing engines; the in-process path stays the default.

- :mod:`~textmanifold.engines.ray_embed`: batch embedding on Ray Data, written as
  ordered shards (:mod:`textmanifold.shards`).

Layer 5 of ``docs/architecture.md``, above :mod:`textmanifold.models`, which never
imports it: data-parallel training under ``torchrun`` is part of the training loop,
:mod:`textmanifold.models.distributed`. The adapter loads on first use (Ray is an
optional extra).
"""

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "ray_embed": ("ShardEmbedder", "embed_joint_run_ray"),
    },
)
