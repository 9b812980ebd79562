"""Geodesic retrieval among the rows of one space (the ``retrieve`` command).

Every row of ``X`` (and of ``X_aux``) is a vertex of one great-circle graph. Rows with a
label are the *targets*, except the queries; the queries (by default the rows without a
label) and every other unlabelled row pass paths through. Each query gets its geodesic
k nearest targets and their majority label, by :class:`.geodesic.GeodesicKNNClassifier`:
a query attaches to the graph by the graph's edge rule, and since it is a vertex too it
meets its own copy at distance :data:`.graph.MIN_WEIGHT`, so its distances are those of
a Dijkstra from its own vertex.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from .geodesic import GeodesicKNNClassifier

__all__ = ["Retrieval", "retrieve_labelled"]


@dataclass(frozen=True)
class Retrieval:
    """What :func:`retrieve_labelled` found.

    Attributes
    ----------
    ids : list of str
        The row ids of ``X`` (neighbours are named by them).
    query_ids : list of str
        The queries, in the order asked.
    query_rows : ndarray of shape (m,), int64
        Their rows of ``X``.
    targets : ndarray of shape (t,), int64
        The rows of ``X`` that were targets, ascending.
    neighbours : ndarray of shape (m, k), int64
        Each query's nearest targets as rows of ``X``, nearest first; ``-1`` where fewer
        than ``k`` are reachable.
    distances : ndarray of shape (m, k), float64
        Their geodesic distances, radians; ``inf`` where ``neighbours`` is ``-1``.
    predictions : list of length m
        Majority label of each query's neighbours (a ``frozenset`` for multi-label
        data), or None for a query that reaches no target.
    threshold : float
        The edge threshold used, radians.
    """

    ids: list[str]
    query_ids: list[str]
    query_rows: np.ndarray
    targets: np.ndarray
    neighbours: np.ndarray
    distances: np.ndarray
    predictions: list
    threshold: float

    @property
    def retrievable(self) -> NDArray[np.bool_]:
        """Shape (m,), bool: the query reaches at least one target."""
        return self.neighbours[:, 0] >= 0

    def to_json(self) -> dict:
        """Return the result as a JSON-ready dict.

        ``{"threshold", "targets", "queries": [{"id", "retrievable", "prediction",
        "neighbours": [{"id", "distance"}]}]}`` (multi-label predictions sorted).
        """
        queries = []
        for q, row_dist, row_nb, predicted in zip(
            self.query_ids, self.distances, self.neighbours, self.predictions, strict=True
        ):
            found = row_nb >= 0
            queries.append(
                {
                    "id": q,
                    "retrievable": bool(found[0]),
                    "prediction": None
                    if predicted is None
                    else sorted(predicted)
                    if isinstance(predicted, frozenset)
                    else predicted,
                    "neighbours": [
                        {"id": self.ids[t], "distance": float(d)}
                        for t, d in zip(row_nb[found], row_dist[found], strict=True)
                    ],
                }
            )
        return {"threshold": self.threshold, "targets": len(self.targets), "queries": queries}


def retrieve_labelled(
    X: ArrayLike,
    ids: Sequence[str],
    labels: Sequence,
    queries=None,
    *,
    X_aux: ArrayLike | None = None,
    k: int = 1,
    threshold=None,
    target_degree=None,
    backend: str = "auto",
    build: str = "auto",
    name: str = "X",
) -> Retrieval:
    """Each query's geodesic k nearest labelled rows (module docstring).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Unit rows, all vertices.
    ids : sequence of n str
        Their ids.
    labels : sequence of n labels
        A row's label (a list of labels for multi-label data); an empty or None label
        marks a row that is never a target.
    queries : sequence of str, optional
        Ids of the query rows (repeats allowed); default: the rows without a label.
    X_aux : array-like of shape (n_aux, d), optional
        More pass-through vertices (e.g. text rows).
    k : int, default 1
        Neighbours per query (distinct targets).
    threshold, target_degree : float
        The edge rule: radians, or the mean degree over all vertices. Exactly one.
    backend, build : str
        The exact search engine and the graph build (:class:`GeodesicKNNClassifier`).
    name : str
        What ``X`` is called in errors (its file).

    Returns
    -------
    Retrieval

    Raises
    ------
    InputError
        A query id that is not a row, no target or no query, or as the classifier.
    """
    ids = list(ids)
    X = np.asarray(X)
    if len(ids) != len(X) or len(labels) != len(X):
        raise InputError(f"{name}: {len(X)} rows, {len(ids)} ids and {len(labels)} labels")
    row = {row_id: r for r, row_id in enumerate(ids)}
    wanted = (
        [i for i, lab in zip(ids, labels, strict=True) if not lab]
        if queries is None or not len(queries)
        else [str(q) for q in queries]
    )
    missing = [q for q in wanted if q not in row]
    if missing:
        raise InputError(f"query id {missing[0]!r} is not a row of {name}")
    q_rows = np.array([row[q] for q in wanted], dtype=np.int64)
    is_target = np.array([bool(lab) for lab in labels], dtype=bool)
    is_target[q_rows] = False
    if not is_target.any() or not len(q_rows):
        raise InputError("need at least one labelled target and one query")
    passthrough = [X[~is_target]] + ([np.asarray(X_aux)] if X_aux is not None else [])
    model = GeodesicKNNClassifier(
        n_neighbors=k,
        threshold=threshold,
        target_degree=target_degree,
        backend=backend,
        build=build,
    )
    targets = np.flatnonzero(is_target)
    model.fit(X[targets], [labels[t] for t in targets], X_aux=np.concatenate(passthrough))
    dist, nearest = model.kneighbors(X[q_rows])
    predicted = model.predict(X[q_rows])
    neighbours = np.where(nearest >= 0, targets[np.maximum(nearest, 0)], -1)
    return Retrieval(
        ids=ids,
        query_ids=wanted,
        query_rows=q_rows,
        targets=targets,
        neighbours=neighbours,
        distances=dist,
        predictions=list(predicted),
        threshold=model.threshold_,
    )
