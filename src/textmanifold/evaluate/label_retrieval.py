"""Label retrieval: the rows of Table 1 (paper Sec. 4.3) from given embedding spaces.

Spaces: *Image* ``T(Psi)`` (image embeddings after ICP), *Joint* ``T(Psi) + Phi`` (the
same images plus text points as pass-through vertices) and *Resnet* ``Psi'`` (pretrained
image features). The task's images (targets first, then queries; :mod:`.fewshot`) are
the graph's vertices; a query is *retrievable* when a target lies in its connected
component, and its geodesic prediction is the label set of its geodesically nearest
target. Predictions count only when the whole label set matches.

Rows: A Euclidean 1-NN on all queries (Image). C / E the same on the queries
retrievable in the Image / Joint graph. D / F geodesic 1-NN on the Image / Joint graph.
Image and Joint share one threshold (given, or chosen for ``target_degree`` on the
Image graph), so text only adds vertices. B geodesic 1-NN in Resnet space at D's number
of retrievable queries: the Resnet graph's edges are taken in order of length, the two
cuts whose retrievable counts bracket D's are found by bisection, and the accuracy is
interpolated linearly in the retrievable count between them (see
:func:`geodesic_at_retrievable`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import scipy.sparse

from .. import io
from ..errors import InputError
from ..manifold.geodesic import nearest_source
from ..manifold.graph import build_graph, check_unit_rows, great_circle_graph, mean_degree
from ..manifold.knn import EuclideanKNNClassifier
from .fewshot import label_sets, primary_labels, sample_targets
from .paper_numbers import TABLE1_ROWS

COLUMNS = ("row", "method", "space", "accuracy", "retrievable", "queries")


def label_retrieval_table(
    image,
    text,
    resnet,
    labels: Sequence,
    *,
    n_way: int | None,
    k_shot: int,
    threshold: float | None = None,
    target_degree: float | None = None,
    seed: int = 0,
    sampling_labels: Sequence | None = None,
    normalize: bool = False,
    backend: str = "auto",
    resnet_name: str = "Resnet",
) -> list[dict]:
    """Rows A-F of Table 1.

    Parameters
    ----------
    image : array of shape (n_images, d)
        ``T(Psi)``: image embeddings after ICP, unit rows.
    text : array of shape (n_texts, d) or None
        ``Phi``: text embeddings, pass-through vertices of the Joint graph. None skips
        rows E and F.
    resnet : array of shape (n_images, d') or None
        ``Psi'``: pretrained image features, same image order. None skips row B.
    labels : sequence, length n_images
        Each image's label or label set (judged by exact set match).
    n_way, k_shot, seed
        The task (:func:`.fewshot.sample_targets`); ``n_way=None`` takes every class
        with at least ``k_shot`` images.
    threshold : float, optional
        Graph threshold in radians for Image and Joint. Give this or ``target_degree``.
    target_degree : float, optional
        Choose the threshold whose Image graph has about this mean degree.
    sampling_labels : sequence, optional
        The class each image is sampled under (multi-label data: its primary label).
    normalize : bool
        L2-normalise every space's rows first (else they must be unit rows).
    backend : {"auto", "numpy", "faiss"}
        Neighbour search backend.
    resnet_name : str
        What row B's space is called (the paper: an ImageNet-pretrained "Resnet"; say
        "untrained ResNet-18" when no pretrained weights were available).

    Returns
    -------
    list of dict
        One per row, in order A..F, with keys :data:`COLUMNS`; ``accuracy`` is NaN when
        no query is retrievable. D and F add ``threshold``; B adds its bracket
        (``threshold_low/high``, ``retrievable_low/high``, ``accuracy_low/high``).
    """
    image = check_unit_rows(image, normalize=normalize, name="image")
    n = len(image)
    sets = label_sets(labels)
    if len(sets) != n:
        raise InputError(f"{len(sets)} labels for {n} image rows")
    split = sample_targets(primary_labels(sets, sampling_labels), n_way, k_shot, seed)
    task = np.concatenate([split.targets, split.queries])
    n_targets, n_queries = len(split.targets), len(split.queries)
    if n_queries == 0:
        raise InputError(
            f"no queries: every image of the chosen classes is a target (k_shot={k_shot})"
        )
    truth = [sets[i] for i in task]
    rows: dict[str, dict] = {}

    def row(
        key: str, space: str, accuracy: float, retrievable: int, method: str | None = None, **extra
    ) -> None:
        rows[key] = {
            "row": key,
            "method": method or TABLE1_ROWS[key],
            "space": space,
            "accuracy": accuracy,
            "retrievable": int(retrievable),
            "queries": n_queries,
            **extra,
        }

    euclid = EuclideanKNNClassifier(n_neighbors=1, backend=backend)
    euclid.fit(image[split.targets], truth[:n_targets])
    euclid_correct = _correct(euclid.kneighbors(image[split.queries])[1][:, 0], truth, n_targets)
    row("A", "Image", _accuracy(euclid_correct), n_queries)

    vertices = image[task]
    graph, threshold = build_graph(
        vertices, threshold=threshold, target_degree=target_degree, backend=backend
    )
    found, correct = _geodesic_1nn(graph, truth, n_targets, n_queries)
    row("C", "Image", _accuracy(euclid_correct[found]), found.sum())
    row("D", "Image", _accuracy(correct), found.sum(), threshold=threshold)

    if resnet is not None:
        resnet = check_unit_rows(resnet, normalize=normalize, name="resnet")
        if len(resnet) != n:
            raise InputError(f"resnet has {len(resnet)} rows but image has {n}")
        bracket = geodesic_at_retrievable(
            resnet[task],
            truth,
            n_targets,
            int(found.sum()),
            start_degree=max(mean_degree(graph), 1.0),
            backend=backend,
        )
        row(
            "B",
            resnet_name,
            bracket.pop("accuracy"),
            found.sum(),
            method=f"{resnet_name} + Geo",
            **bracket,
        )

    if text is not None:
        text = check_unit_rows(text, normalize=normalize, name="text")
        if text.shape[1] != image.shape[1]:
            raise InputError(f"text has dimension {text.shape[1]} but image has {image.shape[1]}")
        joint, _ = build_graph(
            np.concatenate([vertices, text]),
            threshold=threshold,
            target_degree=None,
            backend=backend,
        )
        found, correct = _geodesic_1nn(joint, truth, n_targets, n_queries)
        row("E", "Joint", _accuracy(euclid_correct[found]), found.sum())
        row("F", "Joint", _accuracy(correct), found.sum(), threshold=threshold)
    return [rows[key] for key in sorted(rows)]


def geodesic_at_retrievable(
    X,
    truth: Sequence[frozenset],
    n_targets: int,
    count: int,
    *,
    start_degree: float = 4.0,
    backend: str = "auto",
) -> dict:
    """Geodesic 1-NN accuracy at ``count`` retrievable queries, by interpolation (row B).

    The graph at cut ``w`` holds the edges of length ``<= w``; its retrievable count
    grows with ``w``. A graph of mean degree ``start_degree`` (doubled until it holds at
    least ``count`` retrievable queries) gives the candidate cuts, its distinct edge
    lengths. Bisection finds the first cut with at least ``count`` (``high``) and the
    cut before it (``low``); the accuracy is ``acc_low + (count - n_low) *
    (acc_high - acc_low) / (n_high - n_low)``, or ``acc_high`` when ``n_high == count``.

    Parameters
    ----------
    X : array of shape (n_targets + n_queries, d)
        Unit rows: targets first, then queries.
    truth : sequence of frozenset, length n_targets + n_queries
    n_targets : int
    count : int
        Retrievable queries to match (row D's).

    Returns
    -------
    dict
        ``accuracy`` (NaN when ``count == 0`` or when the low cut has no retrievable
        query), ``threshold_low``, ``threshold_high`` (radians: a threshold with the
        strict ``<`` rule that yields that cut), ``retrievable_low``,
        ``retrievable_high``, ``accuracy_low``, ``accuracy_high``.
    """
    X = check_unit_rows(X, name="resnet")
    n = len(X)
    n_queries = n - n_targets
    if not 0 <= count <= n_queries:
        raise InputError(f"count must lie in [0, {n_queries}], got {count}")
    nan = float("nan")
    result = {
        "accuracy": nan,
        "threshold_low": nan,
        "threshold_high": nan,
        "retrievable_low": 0,
        "retrievable_high": 0,
        "accuracy_low": nan,
        "accuracy_high": nan,
    }
    if count == 0:
        return result
    degree = start_degree
    while True:
        if degree >= n - 1:
            graph = great_circle_graph(X, threshold=math.pi, backend=backend)
        else:
            graph = great_circle_graph(X, target_degree=degree, backend=backend)
        cuts = np.unique(graph.data)
        edges = graph.tocoo()
        evaluate = _CutEvaluator(edges, truth, n_targets, n_queries)
        if len(cuts) and evaluate(cuts[-1])[0].sum() >= count:
            break
        if degree >= n - 1:
            raise InputError(f"no graph in this space reaches {count} retrievable queries")
        degree *= 2
    lo, hi = -1, len(cuts) - 1  # invariant: count(cuts[lo]) < count <= count(cuts[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if evaluate(cuts[mid])[0].sum() >= count:
            hi = mid
        else:
            lo = mid
    found_hi, correct_hi = evaluate(cuts[hi])
    n_hi, acc_hi = int(found_hi.sum()), _accuracy(correct_hi)
    result.update(
        threshold_high=_threshold_after(cuts, hi), retrievable_high=n_hi, accuracy_high=acc_hi
    )
    if n_hi == count:
        result.update(
            accuracy=acc_hi,
            threshold_low=result["threshold_high"],
            retrievable_low=n_hi,
            accuracy_low=acc_hi,
        )
        return result
    found_lo, correct_lo = evaluate(cuts[lo]) if lo >= 0 else (np.zeros(n_queries, bool), [])
    n_lo, acc_lo = int(found_lo.sum()), _accuracy(correct_lo)
    result.update(
        threshold_low=_threshold_after(cuts, lo) if lo >= 0 else 0.0,
        retrievable_low=n_lo,
        accuracy_low=acc_lo,
    )
    result["accuracy"] = acc_lo + (count - n_lo) * (acc_hi - acc_lo) / (n_hi - n_lo)
    return result


def rows_for_images(
    R, row_ids: Sequence[str], image_ids: Sequence[str], where: str = "resnet"
) -> np.ndarray:
    """The rows of ``R`` for ``image_ids``, in that order (row B's pretrained features
    ``Psi'`` given in another row order).

    Parameters
    ----------
    R : ndarray of shape (n_rows, d)
    row_ids : sequence of n_rows str
        The id of each row of ``R``.
    image_ids : sequence of m str
    where : str
        What ``R`` is called in the error (its file).

    Returns
    -------
    ndarray of shape (m, d)
        ``R[[row_ids.index(i) for i in image_ids]]``.

    Raises
    ------
    InputError
        Naming the first image id without a row.
    """
    row = {r: n for n, r in enumerate(row_ids)}
    missing = [i for i in image_ids if i not in row]
    if missing:
        raise InputError(f"{where}: no row for image id {missing[0]!r}")
    return np.asarray(R)[np.array([row[i] for i in image_ids], dtype=np.int64)]


def table_to_markdown(rows: Sequence[dict]) -> str:
    """The rows as a Markdown table (accuracy to 4 decimals, ``n/a`` when undefined)."""
    lines = [
        "| Row | Method | Space | Accuracy | Retrievable | Queries |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        acc = r["accuracy"]
        acc_text = "n/a" if acc is None or not math.isfinite(acc) else f"{acc:.4f}"
        lines.append(
            f"| {r['row']} | {r['method']} | {r['space']} | {acc_text} | "
            f"{r['retrievable']} | {r['queries']} |"
        )
    return "\n".join(lines) + "\n"


def write_table(path: str | os.PathLike, rows: Sequence[dict]) -> None:
    """Write the rows as JSON atomically (NaN becomes ``null``)."""
    io.write_json(path, {"label_retrieval": [_json_row(r) for r in rows]})


def _json_row(row: dict) -> dict:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


# ----------------------------------------------------------------------------- helpers


def _geodesic_1nn(graph, truth, n_targets: int, n_queries: int):
    """Retrievable mask of the queries and correctness of the retrievable ones."""
    _, source = nearest_source(graph, np.arange(n_targets))
    nearest = source[n_targets : n_targets + n_queries]
    found = nearest >= 0
    return found, _correct(nearest[found], truth, n_targets, np.flatnonzero(found))


def _correct(nearest, truth, n_targets: int, queries=None) -> np.ndarray:
    """Exact set match of query ``queries[i]`` (default: all) with target ``nearest[i]``."""
    if queries is None:
        queries = np.arange(len(nearest))
    return np.array(
        [
            truth[t] == truth[n_targets + q]
            for t, q in zip(nearest.tolist(), queries.tolist(), strict=True)
        ],
        dtype=bool,
    )


def _accuracy(correct) -> float:
    return float(np.mean(correct)) if len(correct) else float("nan")


def _threshold_after(cuts: np.ndarray, i: int) -> float:
    """A threshold whose strict rule keeps the edges ``<= cuts[i]`` and no longer ones."""
    return float((cuts[i] + cuts[i + 1]) / 2) if i + 1 < len(cuts) else float(cuts[i] * 1.0001)


class _CutEvaluator:
    """Geodesic 1-NN on the sub-graph of edges no longer than a cut."""

    def __init__(self, edges: scipy.sparse.coo_matrix, truth, n_targets: int, n_queries: int):
        self.edges, self.truth = edges, truth
        self.n_targets, self.n_queries = n_targets, n_queries

    def __call__(self, cut: float):
        keep = self.edges.data <= cut
        graph = scipy.sparse.csr_matrix(
            (self.edges.data[keep], (self.edges.row[keep], self.edges.col[keep])),
            shape=self.edges.shape,
        )
        return _geodesic_1nn(graph, self.truth, self.n_targets, self.n_queries)
