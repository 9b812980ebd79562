"""Scale-out adapters on existing engines; the in-process path stays the default.

- :mod:`~textmanifold.engines.distributed`: DistributedDataParallel under ``torchrun``.
- :mod:`~textmanifold.engines.ray_embed`: batch embedding on Ray Data, written as
  ordered shards (:mod:`textmanifold.shards`).
"""
