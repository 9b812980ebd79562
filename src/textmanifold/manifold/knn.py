"""Labels from neighbours: the shared predict / retrievable logic and the Euclidean baseline.

Both classifiers of the paper (Euclidean k-NN, the baseline, and geodesic k-NN in
:mod:`textmanifold.manifold.geodesic`) answer ``kneighbors(Q)`` and share everything
after it: label normalisation, the vote, the unretrievable marker.

Labels
------
A label is a hashable scalar (``str``, ``int``...) or, for multi-label data, a set /
frozenset / list / tuple of them. If any label is a collection, every label becomes a
``frozenset`` (a scalar ``a`` becomes ``frozenset({a})``), predictions are frozensets,
and a prediction is right only when the whole set matches (DESIGN.md, Table 1).

Votes
-----
``predict`` takes the most frequent label among the (up to ``n_neighbors``) neighbours
found; a tie goes to the label of the nearest neighbour among the tied labels. A query
with no neighbour at all gets :data:`UNRETRIEVABLE`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..base import ParamsMixin
from ..errors import InputError
from ..validation import check_is_fitted, check_points, check_positive_int
from ._search import euclidean_kneighbors, resolve_backend

__all__ = [
    "UNRETRIEVABLE",
    "EuclideanKNNClassifier",
    "NeighborLabelClassifier",
    "check_n_neighbors",
    "check_points",
    "normalize_labels",
]

#: Prediction for a query with no reachable target (``predict`` returns it as is).
UNRETRIEVABLE = None

_COLLECTIONS = (set, frozenset, list, tuple)


def normalize_labels(y, n: int) -> tuple[list, bool]:
    """Check ``n`` labels; return them (frozensets when multi-label) and the multi-label flag.

    Raises
    ------
    InputError
        ``y`` is not a sequence of length ``n``, or a label is None / unhashable.
    """
    unordered = isinstance(y, set | frozenset | dict)
    if y is None or unordered or isinstance(y, str | bytes) or not hasattr(y, "__len__"):
        raise InputError(f"y must be a sequence of {n} labels, got {type(y).__name__}")
    labels = list(y)
    if len(labels) != n:
        raise InputError(f"y holds {len(labels)} labels but X has {n} rows")
    multilabel = any(isinstance(label, _COLLECTIONS) for label in labels)
    out = []
    for i, label in enumerate(labels):
        parts = list(label) if isinstance(label, _COLLECTIONS) else [label]
        parts = [part.item() if isinstance(part, np.generic) else part for part in parts]
        for part in parts:
            if part is None or isinstance(part, _COLLECTIONS) or not _hashable(part):
                raise InputError(f"label {i} ({label!r}) is not a hashable non-None value")
        out.append(frozenset(parts) if multilabel else parts[0])
    return out, multilabel


def check_n_neighbors(n_neighbors) -> int:
    """Validate ``n_neighbors`` (:func:`textmanifold.validation.check_positive_int`)."""
    return check_positive_int(n_neighbors, "n_neighbors")


class NeighborLabelClassifier(ParamsMixin):
    """Base: predict and retrievable from a subclass's ``kneighbors(Q)``."""

    def kneighbors(  # pragma: no cover - abstract
        self, Q: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Return distances (n_q, k) ascending and target indices (n_q, k); a subclass's."""
        raise NotImplementedError

    def predict(self, Q: ArrayLike) -> NDArray:
        """Majority label of each query's neighbours.

        Parameters
        ----------
        Q : array-like of shape (n_q, d)

        Returns
        -------
        ndarray of shape (n_q,), dtype object
            A label (a ``frozenset`` for multi-label fits), or :data:`UNRETRIEVABLE`
            (``None``) for a query without neighbours. Ties: see the module docstring.
        """
        _, indices = self.kneighbors(Q)
        out = np.empty(len(indices), dtype=object)
        for q, row in enumerate(indices):
            counts: dict = {}  # insertion order = nearest first, which breaks ties
            for target in row[row >= 0]:
                label = self.y_[target]
                counts[label] = counts.get(label, 0) + 1
            out[q] = max(counts, key=counts.get) if counts else UNRETRIEVABLE
        return out

    def retrievable(self, Q: ArrayLike) -> NDArray[np.bool_]:
        """Boolean mask of shape (n_q,): the query has at least one neighbour."""
        return self.kneighbors(Q)[1][:, 0] >= 0

    def _check_fitted(self) -> None:
        check_is_fitted(self, "y_", fit_call="fit(X, y)")


class EuclideanKNNClassifier(NeighborLabelClassifier):
    """k-nearest-neighbour labels by straight-line distance (the paper's baseline *Eu*).

    Parameters
    ----------
    n_neighbors : int, default 1
        Neighbours that vote.
    backend : {"auto", "numpy", "faiss"}, default "auto"
        Exact search: FAISS ``IndexFlatL2`` (float32) or blockwise numpy (float64).

    Attributes
    ----------
    X_ : ndarray of shape (n_targets, d), float32
        The labelled targets.
    y_ : list of length n_targets
        Their labels (frozensets when ``multilabel_``).
    multilabel_ : bool
    n_targets_ : int
    n_features_in_ : int
    """

    def __init__(self, n_neighbors: int = 1, backend: str = "auto"):
        self.n_neighbors = n_neighbors
        self.backend = backend

    def fit(
        self, X: ArrayLike, y: ArrayLike, X_aux: ArrayLike | None = None
    ) -> EuclideanKNNClassifier:
        """Store the targets ``X`` (n_targets, d) and labels ``y``; ``X_aux`` is ignored.

        ``X_aux`` is accepted so both classifiers share one call; extra unlabelled points
        cannot change a Euclidean nearest target.
        """
        check_n_neighbors(self.n_neighbors)
        resolve_backend(self.backend)
        X = check_points(X, "X")
        self.y_, self.multilabel_ = normalize_labels(y, len(X))
        self.X_ = X
        self.n_targets_, self.n_features_in_ = X.shape
        return self

    def kneighbors(self, Q: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Euclidean distances (n_q, k) ascending and target indices (n_q, k).

        Columns beyond ``n_targets_`` are padded with ``inf`` / ``-1``.
        """
        self._check_fitted()
        Q = check_points(Q, "Q", dim=self.X_.shape[1])
        return euclidean_kneighbors(
            Q, self.X_, check_n_neighbors(self.n_neighbors), backend=self.backend
        )


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
