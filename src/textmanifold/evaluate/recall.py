"""R@K for composed retrieval: the evaluation layer's name for :mod:`textmanifold.ranking`.

The ranking rule (ties count against the query, the source image removed) lives in the
lower layer so that :mod:`textmanifold.models` can rank held-out queries without
importing :mod:`textmanifold.evaluate`.
"""

from ..ranking import recall_at_k, target_ranks

__all__ = ["recall_at_k", "target_ranks"]
