"""A linear approximate sphere graph: random-projection trees, then neighbours of neighbours.

The cell join of :mod:`.approximate` does O(n^1.5 d) work (nlist = sqrt(n) cells).
This build keeps its guarantee (every edge is an exact edge, with the exact weight)
and makes the candidate generation linear in ``n``:

1. **Trees.** Each random-projection tree (:func:`._refine.rp_tree`) splits the rows
   into leaves of at most ``leaf_rows`` rows; every leaf is joined with itself by
   float32 BLAS products (batches of leaves at once) under the loosened bound. One
   tree finds a pair iff no split separated it, so each tree finds a fraction of the
   edges, and the trees, drawn independently, miss different ones. Work per tree:
   ``n leaf_rows d``.
2. **Refinement.** Neighbours of neighbours, as NN-descent
   (:func:`._refine.two_hop_candidates`): every vertex is compared with the vertices
   two edges away along at least one edge found in the last round, until a round
   adds fewer than ``1e-4`` of the edges (or :data:`MAX_ROUNDS`). Work per round: about
   ``n degree^2 d``.
3. **Calibration.** The exact neighbour lists of 2000 sampled rows (brute force,
   O(2000 n d)) give the sample edge recall of the finished graph; while it is below
   ``target_recall``, :data:`TREES_STEP` more trees are added and the graph refined
   again (at most :data:`MAX_TREES` trees).

Every candidate, from a leaf or from two hops, is re-scored by the canonical float64
score (:func:`._search.exact_inner`) and kept iff it passes ``s > cos(threshold)``, so
the graph is a subset of the exact graph with the same weights, symmetric (each pair is
stored once, from its smaller end, and mirrored by the caller), and ties are decided as
in the exact build. Memory: the points, one tree's permutation, the edges and their
CSR, plus one batch of leaf products.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..validation import check_interval, check_positive_int
from ._refine import edge_csr, rp_tree, two_hop_candidates
from ._search import exact_inner, margin, row_norms

#: Rows per tree leaf at most (leaves hold between half of it and all of it).
LEAF_ROWS = 1024

#: Trees of the first pass; :data:`TREES_STEP` more while the sample recall is short.
FIRST_TREES = 6
TREES_STEP = 2
MAX_TREES = 40

#: Refinement rounds at most; a round adding under ``_ROUND_TOL`` of the edges is the last.
MAX_ROUNDS = 10
_ROUND_TOL = 1e-4

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForestSettings:
    """How the forest build ran (reported next to the graph).

    Attributes
    ----------
    trees : int
        Random-projection trees joined.
    leaf_rows : int
        Rows per leaf at most.
    rounds : int
        Refinement rounds run, over all calibration steps.
    sample_recall : float
        Edge recall on the calibration sample (NaN when ``trees`` was given).
    """

    trees: int
    leaf_rows: int
    rounds: int
    sample_recall: float


def forest_pairs(
    X: np.ndarray,
    cos_t: float,
    *,
    trees: int | None = None,
    leaf_rows: int = LEAF_ROWS,
    target_recall: float | None = None,
    refine: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ForestSettings]:
    """Pairs ``i < j`` whose canonical score exceeds ``cos_t``, found by trees and refinement.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
        Unit rows validated by :func:`.graph.check_unit_rows`.
    cos_t : float
        The edge rule's bound, ``cos(threshold)``.
    trees : int, optional
        Trees to join; default: :data:`FIRST_TREES`, then more until the sample recall
        reaches ``target_recall`` (module docstring).
    leaf_rows : int
        Rows per leaf at most.
    target_recall : float, optional
        Default :data:`.approximate.TARGET_RECALL`.
    refine : bool
        Run the neighbours-of-neighbours rounds (off: the trees' pairs only).
    seed : int
        Seeds the trees and the calibration sample.

    Returns
    -------
    rows, cols : ndarray of int64
        Sorted by (row, col), ``rows < cols``.
    scores : ndarray of float64
        Canonical scores, all ``> cos_t``.
    settings : ForestSettings
    """
    from .approximate import _SAMPLE_ROWS, TARGET_RECALL, _exact_pairs_of

    n, d = X.shape
    leaf_rows = check_positive_int(leaf_rows, "leaf_rows")
    check_interval("leaf_rows", leaf_rows, 2, max(n, 2), labels=("2", "n"))
    target = TARGET_RECALL if target_recall is None else target_recall
    check_interval("target_recall", target, 0.0, 1.0, closed="right")
    norms = row_norms(X)
    loose = float(cos_t - margin(d))
    graph = _Edges(n)
    if trees is None:
        rng = np.random.default_rng([seed, 1])  # not the sample sampled_edge_recall draws
        sample = np.sort(rng.choice(n, size=min(n, _SAMPLE_ROWS), replace=False))
        r, j = _exact_pairs_of(X, sample, cos_t)
        sample_keys = np.unique(np.minimum(r, j) * n + np.maximum(r, j))
        plan = [FIRST_TREES] + [TREES_STEP] * ((MAX_TREES - FIRST_TREES) // TREES_STEP)
    else:
        sample_keys = None
        plan = [check_positive_int(trees, "trees")]
    done, rounds, recall = 0, 0, float("nan")
    for step in plan:
        keys = np.concatenate(
            [
                _tree_keys(X, loose, leaf_rows, seed * 1_000_003 + t)
                for t in range(done, done + step)
            ]
        )
        graph.add(*_passing(X, norms, *graph.unheld(keys), cos_t))
        del keys
        done += step
        if refine:
            rounds += _refine(X, norms, cos_t, loose, graph)
        if sample_keys is None:
            break
        recall = graph.recall(sample_keys)
        logger.info("forest: %d trees, %d rounds, sample recall %.5f", done, rounds, recall)
        if recall >= target - 1e-12:
            break
    rows, cols, scores = graph.sorted()
    settings = ForestSettings(trees=done, leaf_rows=leaf_rows, rounds=rounds, sample_recall=recall)
    logger.info("forest graph: %s, %d edges", settings, len(rows))
    return rows, cols, scores, settings


class _Edges:
    """The edges found so far, canonical (``rows < cols``), each once, with a "new" flag."""

    def __init__(self, n: int):
        self.n = n
        self.keys = np.empty(0, np.int64)  # sorted row * n + col
        self.scores = np.empty(0)
        self.new = np.empty(0, bool)

    def add(self, rows, cols, scores) -> int:
        """Add the pairs not yet held (flagged new); return how many were added."""
        keys, first = np.unique(rows * self.n + cols, return_index=True)
        fresh = ~_isin_sorted(keys, self.keys)
        keys, scores = keys[fresh], scores[first[fresh]]
        merged = np.concatenate([self.keys, keys])
        order = np.argsort(merged, kind="stable")
        self.keys = merged[order]
        self.scores = np.concatenate([self.scores, scores])[order]
        self.new = np.concatenate([self.new, np.ones(len(keys), bool)])[order]
        return len(keys)

    def unheld(self, keys):
        """Return the distinct pairs of ``keys`` not held yet, as (rows, cols)."""
        keys = np.unique(keys)
        keys = keys[~_isin_sorted(keys, self.keys)]
        return keys // self.n, keys % self.n

    def recall(self, keys) -> float:
        return float(_isin_sorted(keys, self.keys).mean()) if len(keys) else 1.0

    def sorted(self):
        return self.keys // self.n, self.keys % self.n, self.scores


def _isin_sorted(keys: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``held``."""
    if not len(held):
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(held, keys), len(held) - 1)
    return held[at] == keys


def _passing(X, norms, rows, cols, cos_t):
    """Keep the candidates whose canonical score (:func:`._search.exact_inner`) is ``> cos_t``."""
    scores = exact_inner(X, X, norms, norms, rows, cols)
    keep = scores > cos_t
    return rows[keep], cols[keep], scores[keep]


def _tree_keys(X, loose, leaf_rows, seed):
    """Return keys ``a * n + b`` (``a < b``) of one tree's leaf pairs with product > loose."""
    n = len(X)
    perm, starts = rp_tree(X, leaf_rows, seed)
    ends = np.append(starts[1:], n)
    out = []
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        own = perm[lo:hi]
        leaf = X[own]
        i, j = np.nonzero(leaf @ leaf.T > loose)
        a, b = own[i], own[j]
        keep = a < b
        out.append(a[keep] * n + b[keep])
    return np.concatenate(out)


def _refine(X, norms, cos_t, loose, graph: _Edges) -> int:
    """Neighbours-of-neighbours rounds until one adds (almost) nothing; return the rounds."""
    n = len(X)
    stamps = [np.full(n, -1, np.int64), np.full(n, -1, np.int64)]
    cut = n // 2
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 (returned)
        rows, cols, _ = graph.sorted()
        indptr, indices, n_new = edge_csr(n, rows, cols, graph.new)
        graph.new[:] = False
        for stamp in stamps:
            stamp[:] = -1

        def scan(lo, hi, stamp, indptr=indptr, indices=indices, n_new=n_new):
            parts, v = [], lo
            while v < hi:
                r, c, v = two_hop_candidates(indptr, indices, n_new, X, loose, v, hi, stamp)
                parts.append(_passing(X, norms, r, c, cos_t))
            return parts

        with ThreadPoolExecutor(2) as pool:
            halves = list(pool.map(scan, (0, cut), (cut, n), stamps))
        parts = [p for half in halves for p in half]
        if not parts:
            break
        added = graph.add(*(np.concatenate(x) for x in zip(*parts, strict=True)))
        if added <= _ROUND_TOL * len(graph.keys):
            break
    return rounds
