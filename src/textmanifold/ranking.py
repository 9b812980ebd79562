"""R@K for composed retrieval (pure numpy), shared by training and evaluation.

It sits at the bottom of the package, beside :mod:`textmanifold.validation`, because
both :mod:`textmanifold.models` (validation curves, ``eval compose``) and
:mod:`textmanifold.evaluate` (which re-exports it as :mod:`textmanifold.evaluate.recall`)
rank with it, and ``models`` must not import ``evaluate`` (``docs/architecture.md``).

Protocol (TIRG's, Vo et al. 2019): every query (a composed source image + text) ranks the
whole gallery by dot product (cosine for unit rows); the query's own source image is
removed from its ranking; R@K is the fraction of queries whose target ranks within the
first K. Ties count against the query: the target's rank is 1 + the number of other
admissible gallery items scoring *at least* as high, so a model that scores everything
equally gets no credit from the gallery's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputError
from .validation import check_positive_int

__all__ = ["recall_at_k", "target_ranks"]

_BLOCK = 1024  # queries scored at a time: bounded memory on 10k x 10k problems


def _check(query: np.ndarray, gallery: np.ndarray, target: np.ndarray, exclude: np.ndarray) -> None:
    if query.ndim != 2 or gallery.ndim != 2:
        raise InputError(f"features must be 2-D; got query {query.shape}, gallery {gallery.shape}")
    if query.shape[1] != gallery.shape[1]:
        raise InputError(
            f"query features are {query.shape[1]}-d but gallery features are {gallery.shape[1]}-d"
        )
    if len(gallery) == 0:
        raise InputError("the gallery is empty")
    for name, X in (("query", query), ("gallery", gallery)):
        bad = ~np.isfinite(X).all(axis=1)
        if bad.any():
            raise InputError(f"{name} row {int(np.flatnonzero(bad)[0])} has NaN or inf")
    if target.shape != (len(query),) or exclude.shape != (len(query),):
        raise InputError(
            f"need one target and one exclude index per query ({len(query)}); "
            f"got {target.shape} and {exclude.shape}"
        )
    m = len(gallery)
    if len(target) and (target.min() < 0 or target.max() >= m):
        raise InputError(f"target index out of range [0, {m})")
    if len(exclude) and (exclude.min() < -1 or exclude.max() >= m):
        raise InputError(f"exclude index out of range [-1, {m})")
    same = np.flatnonzero(target == exclude)
    if len(same):
        raise InputError(f"query {int(same[0])}: its target is its excluded source image")


def target_ranks(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    target_index: Sequence[int],
    exclude_index: Sequence[int],
) -> np.ndarray:
    """The 1-based rank of each query's target in its ranking of the gallery.

    Parameters
    ----------
    query_features : ndarray of shape (n, d)
    gallery_features : ndarray of shape (m, d)
    target_index : sequence of n ints in [0, m)
    exclude_index : sequence of n ints in [-1, m)
        The gallery row removed from each query's ranking (its source image); -1: none.

    Returns
    -------
    ndarray of shape (n,), int64
    """
    Q = np.asarray(query_features, dtype=np.float64)
    G = np.asarray(gallery_features, dtype=np.float64)
    target = np.asarray(target_index, dtype=np.int64).reshape(-1)
    exclude = np.asarray(exclude_index, dtype=np.int64).reshape(-1)
    _check(Q, G, target, exclude)
    ranks = np.empty(len(Q), dtype=np.int64)
    for lo in range(0, len(Q), _BLOCK):
        rows = np.arange(lo, min(lo + _BLOCK, len(Q)))
        scores = Q[rows] @ G.T
        local = np.arange(len(rows))
        target_score = scores[local, target[rows]]
        has_exclude = exclude[rows] >= 0
        scores[local[has_exclude], exclude[rows][has_exclude]] = -np.inf
        at_least = (scores >= target_score[:, None]).sum(axis=1)  # includes the target
        ranks[rows] = at_least
    return ranks


def recall_at_k(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    target_index: Sequence[int],
    exclude_index: Sequence[int],
    ks: Sequence[int] = (1, 10, 50),
) -> dict[str, float]:
    """R@K of composed queries: the fraction whose target ranks within the top K.

    Parameters are those of :func:`target_ranks`, plus ``ks``, the cut-offs.

    Returns
    -------
    dict
        ``{"R@k": recall}`` for each k in ``ks``, recalls in [0, 1].
    """
    ks = [check_positive_int(k, "K") for k in ks]
    ranks = target_ranks(query_features, gallery_features, target_index, exclude_index)
    if len(ranks) == 0:
        raise InputError("no queries")
    return {f"R@{k}": float(np.mean(ranks <= k)) for k in ks}
