"""Choosing the great-circle threshold that gives a graph a target mean degree.

:func:`exact_degree_threshold` finds the exact cut (a sampled bracket, then one exact
pass over the pairs inside it); :func:`sampled_degree_threshold` estimates it from a
sample of rows, for graphs too large for the exact pass (the approximate build).
Rows are validated unit float32 rows (:func:`textmanifold.validation.check_unit_rows`).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..validation import check_interval
from ._search import margin, pairs_above

__all__ = ["exact_degree_threshold", "sampled_degree_threshold"]

# Rows of X scored at once when estimating a threshold for a target degree.
_SAMPLE_ROWS = 1024


def exact_degree_threshold(X: np.ndarray, target_degree, backend: str, chunk_size: int):
    """Find the exact threshold for ``target_degree`` and the pairs inside its bracket.

    See :func:`.graph.threshold_for_degree` for the rule. Returns ``(threshold,
    (rows, cols, scores))``: radians, and every pair scoring above the bracket's floor
    (a superset of the graph's edges, so the caller builds the graph from them).
    """
    n = len(X)
    target = _check_target_degree(target_degree, n)
    wanted = round(target * n / 2)
    factor = 1.5  # headroom over the sampled estimate; doubled if it falls short
    while True:
        floor = _estimate_cos_floor(X, factor * target, chunk_size)
        rows, cols, scores = pairs_above(X, X, floor, backend, chunk_size)
        if len(scores) >= wanted or floor <= -1.0:
            break
        factor *= 2.0
    ranked = np.sort(scores)[::-1]
    # Cut p keeps the p best pairs: needs ranked[p-1] > c >= ranked[p]; pairs outside the
    # bracket all score <= floor, so "ranked[len]" may be taken as the floor itself.
    below = np.append(ranked, floor)
    above = np.insert(ranked, 0, np.inf)
    for offset in range(len(ranked) + 1):
        for p in (wanted - offset, wanted + offset):  # nearest cut first, smaller p on ties
            if 0 <= p <= len(ranked) and above[p] > below[p]:
                theta = _angle_between(above[p], below[p])
                if theta is not None:
                    return theta, (rows, cols, scores)
    raise InputError("no threshold separates the pair distances of X (all points coincide?)")


def _check_target_degree(target_degree, n: int) -> float:
    try:
        target = float(target_degree)
    except (TypeError, ValueError):
        target = target_degree  # not a number: refused below, named as given
    return check_interval(
        "target_degree", target, 0.0, n - 1, closed="neither", labels=("0", "n - 1")
    )


def sampled_degree_threshold(X: np.ndarray, target_degree, chunk_size: int) -> float:
    """Estimate a threshold giving about ``target_degree`` on a sample of rows (large graphs)."""
    target = _check_target_degree(target_degree, len(X))
    floor = _estimate_cos_floor(X, target, chunk_size) + margin(X.shape[1])
    return float(np.arccos(np.clip(floor, -1.0, 1.0)))


def _estimate_cos_floor(X: np.ndarray, degree: float, chunk_size: int) -> float:
    """Estimate a score below which a sample of rows has about ``degree`` neighbours on average.

    The sample's mean degree at score ``c`` is (its scores above ``c``) / (rows), so the
    floor is the ``degree * rows``-th largest of all the sample's scores, kept as a
    running top list across blocks (degrees on clustered data are far from uniform, so
    no per-row cap is safe).
    """
    sample = np.unique(np.linspace(0, len(X) - 1, min(len(X), _SAMPLE_ROWS)).astype(np.int64))
    wanted = int(np.ceil(degree * len(sample)))
    if wanted >= len(sample) * (len(X) - 1):
        return -1.0
    best = np.empty(0, dtype=np.float32)  # the wanted + 1 largest scores so far
    step = max(1, chunk_size * chunk_size // len(X))  # a block holds about chunk_size**2
    for start in range(0, len(sample), step):
        idx = sample[start : start + step]
        scores = X[idx] @ X.T
        scores[np.arange(len(idx)), idx] = -np.inf  # not its own neighbour
        scores = scores.ravel()
        if len(best) > wanted:
            scores = scores[scores > best.min()]
        best = np.concatenate([best, scores])
        if len(best) > wanted + 1:
            best = np.partition(best, len(best) - wanted - 1)[-(wanted + 1) :]
    return float(np.min(best)) - margin(X.shape[1])


def _angle_between(s_in: float, s_out: float) -> float | None:
    """Find an angle t with ``s_in > cos(t) >= s_out`` (float64), or None if none is found."""
    lo = np.arccos(np.clip(s_in, -1.0, 1.0)) if np.isfinite(s_in) else 0.0
    theta = 0.5 * (lo + np.arccos(np.clip(s_out, -1.0, 1.0)))
    for _ in range(64):
        c = np.cos(theta)
        if c >= s_in:
            theta = np.nextafter(theta, np.inf)
        elif c < s_out:
            theta = np.nextafter(theta, 0.0)
        else:
            return float(theta) if 0.0 < theta <= np.pi else None
    return None
