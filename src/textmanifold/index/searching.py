"""Answering queries: resolve what was asked, attach it, rank images, explain with paths.

:class:`Searcher` is the query half of :class:`~textmanifold.index.ManifoldIndex`, which
delegates its queries to one. The split is one way: a searcher reads only the index's
public face (``vectors``, ``norms``, ``graph``, ``is_image``, ``threshold``, ``dim``,
``ids``, ``row``, ``item_at``, ``image_path``, ``align_images``, ``query_encoder``), and
this module imports nothing of :mod:`.core`. A query that is not a vertex is attached to
the graph out of sample by the graph's own edge rule (:mod:`.scan`, :class:`Attachment`);
its geodesic k nearest images come from a Dijkstra that stops once they are settled
(:mod:`.bounded`).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..validation import check_option, check_positive_int, check_unit_rows
from .bounded import BoundedSearch, bounded_dijkstra
from .results import Hit, PathStep, SearchResult
from .scan import arc_lengths, nearest_by_angle, query_edges, row_norms

__all__ = ["METRICS", "Attachment", "Searcher"]

METRICS = ("geodesic", "euclidean", "both")


@dataclass(frozen=True)
class Attachment:
    """An out-of-sample query joined to the graph by the graph's edge rule.

    Its edges are bit-for-bit those a rebuild of the graph with the query as one more
    vertex would give it (:func:`.scan.query_edges`).

    Attributes
    ----------
    vector : ndarray of shape (d,), float32
        The query, projected onto the unit sphere.
    norm : float
        Its float64 norm (about 1), for exact rescoring (:func:`.scan.row_norms`).
    vertices : ndarray of shape (m,), int64
        The vertices it is joined to, ascending (``m`` may be 0: an isolated query).
    lengths : ndarray of shape (m,), float64
        Great-circle lengths of those edges, radians, each below the index's threshold
        (:data:`~textmanifold.manifold.MIN_WEIGHT` for a coincident vertex).
    scores : ndarray of shape (n,), float32
        ``vectors @ vector`` over all ``n`` vertices (the pass the edges came from).
    """

    vector: np.ndarray
    norm: float
    vertices: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray

    @property
    def sources(self) -> list[tuple[int, float]]:
        """``(vertex, edge length)`` pairs: where a Dijkstra from the query starts."""
        return list(zip(self.vertices.tolist(), self.lengths.tolist(), strict=True))


@dataclass
class _Query:
    """A resolved query: its vector, where it enters the graph, what to report."""

    vector: np.ndarray  # (d,) float32 unit
    norm: float
    sources: list  # [(vertex, initial distance)]
    exclude: int  # the query's own vertex (id queries), else -1
    info: dict
    step: PathStep | None  # the out-of-sample query's first path step
    scores: np.ndarray | None = None  # float32 V @ vector, when already computed


class Searcher:
    """Queries on an index.

    :meth:`~textmanifold.index.ManifoldIndex.search` documents them. The searcher reads the
    index's current arrays at each call, so it follows ``add``.
    """

    def __init__(self, index):
        self.index = index

    # ------------------------------------------------------------------ attaching

    def attach(self, vector) -> Attachment:
        """Attach a vector of the index's space (see :meth:`ManifoldIndex.attach`)."""
        v = np.asarray(vector)
        dim = self.index.dim
        if v.ndim != 1 or v.shape[0] != dim:
            raise InputError(f"query vector must have shape ({dim},), got {v.shape}")
        return self._attach_rows(v[None, :])

    def _attach_rows(self, rows) -> Attachment:
        index = self.index
        q = check_unit_rows(rows, normalize=True, name="query")[0]
        if q.shape[0] != index.dim:
            raise InputError(f"query has dimension {q.shape[0]}, the index {index.dim}")
        q_norm = float(row_norms(q[None, :])[0])
        scores = np.asarray(index.vectors) @ q
        vertices, lengths = query_edges(
            q, q_norm, index.vectors, index.norms, scores, index.threshold
        )
        return Attachment(q, q_norm, vertices, lengths, scores)

    @staticmethod
    def _query(a: Attachment, info: dict, step: PathStep) -> _Query:
        return _Query(a.vector, a.norm, a.sources, -1, info, step, a.scores)

    # ------------------------------------------------------------------ resolving

    def resolve(self, *, image=None, text=None, vector=None, id=None, modify=None) -> _Query:
        """Embed (and align) and attach what was asked; one of the four inputs."""
        given = [
            name
            for name, v in (("image", image), ("text", text), ("vector", vector), ("id", id))
            if v is not None
        ]
        if len(given) != 1:
            raise InputError("give exactly one of image, text, vector and id")
        if modify is not None and given[0] not in ("image", "id"):
            raise InputError("modify composes an image: give it with image or id")
        index = self.index
        if modify is not None:
            _check_text(modify, "modify")
            source = index.image_path(id) if id is not None else image
            q = index.align_images(index.query_encoder().composed(source, modify))
            info = {
                "kind": "composed",
                "modify": modify,
                "image": str(source) if isinstance(source, str | os.PathLike) else None,
            }
            if id is not None:
                info["id"] = str(id)
            return self._query(self._attach_rows(q), info, PathStep("query", "query", modify))
        if id is not None:
            row = index.row(id)
            q = np.asarray(index.vectors[row])
            return _Query(
                q, float(index.norms[row]), [(row, 0.0)], row, {"kind": "id", "id": str(id)}, None
            )
        if text is not None:
            _check_text(text, "text")
            q = index.query_encoder().texts([text])
            return self._query(
                self._attach_rows(q),
                {"kind": "text", "text": text},
                PathStep("query", "query", text),
            )
        if image is not None:
            q = index.align_images(index.query_encoder().images([image]))
            name = str(image) if isinstance(image, str | os.PathLike) else None
            return self._query(
                self._attach_rows(q),
                {"kind": "image", "image": name},
                PathStep("query", "query", None),
            )
        return self._query(
            self.attach(vector), {"kind": "vector"}, PathStep("query", "query", None)
        )

    # ------------------------------------------------------------------ ranking

    def search(
        self,
        *,
        image=None,
        text=None,
        vector=None,
        id=None,
        modify=None,
        k: int = 10,
        metric: str = "geodesic",
        return_paths: bool = False,
    ) -> SearchResult:
        """Rank the k nearest images to one query, by geodesic and/or angular distance.

        Parameters
        ----------
        image : path-like or PIL.Image, optional
            Embedded with the index's run (and its ICP map) and attached out of sample.
        text : str, optional
            A sentence, embedded with the run's text branch and attached out of sample.
        vector : array-like of shape (d,), optional
            A vector in the index's space (normalised to unit length), attached.
        id : str, optional
            An indexed vertex (image or text): the search starts there and never
            returns the vertex itself.
        modify : str, optional
            With ``image`` or ``id``: compose the image with this modification text
            (the run's TIRG/Relation in Joint) and search from the composed feature.
        k : int, default 10
        metric : {"geodesic", "euclidean", "both"}
        return_paths : bool
            Attach the vertex sequence from the query to each reachable hit.
        """
        k = check_positive_int(k, "k")
        check_option("metric", metric, METRICS)
        query = self.resolve(image=image, text=text, vector=vector, id=id, modify=modify)
        return self._rank(query, k, metric, return_paths)

    def path_between(self, a: str, b: str) -> list[PathStep]:
        """Find a shortest path from vertex ``a`` to vertex ``b``; ``[]`` if unreachable."""
        ra, rb = self.index.row(a), self.index.row(b)
        found = self._dijkstra([(ra, 0.0)], 0, -1, settle=[rb])
        if rb not in found.settled:
            return []
        return self._path_steps(found.path(rb), None)

    def _dijkstra(self, sources, k, exclude, settle=()) -> BoundedSearch:
        g = self.index.graph
        return bounded_dijkstra(
            g.indptr,
            g.indices,
            g.data,
            sources,
            self.index.is_image,
            k,
            exclude=exclude,
            settle=settle,
        )

    def _rank(self, query: _Query, k: int, metric: str, paths: bool) -> SearchResult:
        index = self.index

        def near(m: int) -> tuple[np.ndarray, np.ndarray]:
            if query.scores is None:
                query.scores = np.asarray(index.vectors) @ query.vector
            return nearest_by_angle(
                query.vector,
                query.norm,
                index.vectors,
                index.norms,
                query.scores,
                index.is_image,
                m,
                query.exclude,
            )

        euclid = near(k) if metric != "geodesic" else (np.empty(0), np.empty(0, np.int64))
        found = self._dijkstra(
            query.sources,
            k if metric != "euclidean" else 0,
            query.exclude,
            settle=euclid[1].tolist(),
        )
        geodesic = []
        if metric != "euclidean":
            rows = [v for _, v in found.nearest]
            if len(rows) < k:  # exhausted: every other image is unreachable
                reached = set(rows)
                rest = near(k + len(rows))[1]
                rows += [v for v in rest.tolist() if v not in reached][: k - len(rows)]
            geodesic = self._hits(query, np.array(rows, np.int64), found, paths)
        return SearchResult(
            query=query.info,
            geodesic=geodesic,
            euclidean=self._hits(query, euclid[1], found, paths),
        )

    def _hits(
        self, query: _Query, rows: np.ndarray, found: BoundedSearch, paths: bool
    ) -> list[Hit]:
        index = self.index
        angles = arc_lengths(query.vector, query.norm, index.vectors, index.norms, rows)
        ids = index.ids
        hits = []
        for rank, (row, angle) in enumerate(zip(rows.tolist(), angles.tolist(), strict=True), 1):
            dist = found.distance(row)
            path = None
            if paths and math.isfinite(dist):
                rows = found.path(row)
                attach = found.distance(rows[0]) if query.step else None
                path = ([query.step] if query.step else []) + self._path_steps(rows, attach)
            hits.append(
                Hit(
                    rank=rank,
                    id=ids[row],
                    geodesic=dist,
                    euclidean=angle,
                    reachable=math.isfinite(dist),
                    path=path,
                )
            )
        return hits

    # ------------------------------------------------------------------ paths

    def _step(self, row: int, angle: float | None = None) -> PathStep:
        record = self.index.item_at(row)
        return PathStep(
            id=self.index.ids[row], kind=record["kind"], caption=record.get("text"), angle=angle
        )

    def _edge(self, a: int, b: int) -> float:
        """Return the great-circle length of the graph's edge a-b, radians."""
        g = self.index.graph
        start, end = g.indptr[a], g.indptr[a + 1]
        where = start + int(np.searchsorted(g.indices[start:end], b))
        return float(g.data[where])

    def _path_steps(self, rows: list[int], first: float | None) -> list[PathStep]:
        """List the steps along ``rows``; ``first`` is the hop onto ``rows[0]`` (None: start)."""
        angles = [first] + [self._edge(a, b) for a, b in itertools.pairwise(rows)]
        return [self._step(v, angle) for v, angle in zip(rows, angles, strict=True)]


def _check_text(text, name: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{name} query is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes a shell passed that are not UTF-8 (surrogates)
        raise InputError(
            f"{name} query is not valid UTF-8 text (character {exc.start + 1} "
            "is an undecodable byte)"
        ) from None
