"""Answering queries: resolve what was asked, attach it, rank images, explain with paths.

:class:`Searching` holds the query half of :class:`~textmanifold.index.ManifoldIndex`
(a mixin: the index's arrays live in :mod:`.core`). A query that is not a vertex is
attached to the graph out of sample by the graph's own edge rule (:mod:`.scan`); its
geodesic k nearest images come from a Dijkstra that stops once they are settled
(:mod:`.bounded`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..validation import check_option, check_positive_int, check_unit_rows
from .bounded import BoundedSearch, bounded_dijkstra
from .results import Hit, PathStep, SearchResult
from .scan import arc_lengths, nearest_by_angle, query_edges, row_norms

__all__ = ["METRICS", "Searching", "UnknownIdError"]

METRICS = ("geodesic", "euclidean", "both")


class UnknownIdError(InputError):
    """An id that is not a vertex of the index."""


@dataclass
class _Query:
    """A resolved query: its vector, where it enters the graph, what to report."""

    vector: np.ndarray  # (d,) float32 unit
    norm: float
    sources: list       # [(vertex, initial distance)]
    exclude: int        # the query's own vertex (id queries), else -1
    info: dict
    step: PathStep | None  # the out-of-sample query's first path step
    scores: np.ndarray | None = None  # float32 V @ vector, when already computed


class Searching:
    """Query methods of :class:`~textmanifold.index.ManifoldIndex` (see there)."""

    def _step(self, row: int, angle: float | None = None) -> PathStep:
        record = self._all_items()[row]
        return PathStep(id=self._ids[row], kind=record["kind"], caption=record.get("text"),
                        angle=angle)

    def _edge(self, a: int, b: int) -> float:
        """The great-circle length of the graph's edge a-b, radians."""
        g = self.graph
        start, end = g.indptr[a], g.indptr[a + 1]
        where = start + int(np.searchsorted(g.indices[start:end], b))
        return float(g.data[where])

    def _path_steps(self, rows: list[int], first: float | None) -> list[PathStep]:
        """Steps along ``rows``; ``first`` is the hop onto ``rows[0]`` (None: the start)."""
        angles = [first] + [self._edge(a, b) for a, b in zip(rows, rows[1:], strict=False)]
        return [self._step(v, angle) for v, angle in zip(rows, angles, strict=True)]

    def path_between(self, a: str, b: str) -> list[PathStep]:
        """A shortest path from vertex ``a`` to vertex ``b``; ``[]`` if unreachable.

        Each step after the first carries the angle of the edge that reaches it."""
        ra, rb = self.row(a), self.row(b)
        found = self._dijkstra([(ra, 0.0)], 0, -1, settle=[rb])
        if rb not in found.settled:
            return []
        return self._path_steps(found.path(rb), None)

    # ------------------------------------------------------------------ search

    def search(self, *, image=None, text=None, vector=None, id=None, modify=None, k: int = 10,
               metric: str = "geodesic", return_paths: bool = False) -> SearchResult:
        """The k nearest images to one query, by geodesic and/or angular distance.

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

        Returns
        -------
        SearchResult
        """
        k = check_positive_int(k, "k")
        check_option("metric", metric, METRICS)
        query = self._resolve(image=image, text=text, vector=vector, id=id, modify=modify)
        return self._rank(query, k, metric, return_paths)

    def _resolve(self, *, image, text, vector, id, modify) -> _Query:
        given = [name for name, v in (("image", image), ("text", text), ("vector", vector),
                                      ("id", id)) if v is not None]
        if len(given) != 1:
            raise InputError("give exactly one of image, text, vector and id")
        if modify is not None and given[0] not in ("image", "id"):
            raise InputError("modify composes an image: give it with image or id")
        if modify is not None:
            _check_text(modify, "modify")
            source = self.image_path(id) if id is not None else image
            q = self._aligned(self._query_encoder().composed(source, modify))
            info = {"kind": "composed", "modify": modify,
                    "image": str(source) if isinstance(source, str | os.PathLike) else None}
            if id is not None:
                info["id"] = str(id)
            return self._attached(q, info, PathStep("query", "query", modify))
        if id is not None:
            row = self.row(id)
            q = np.asarray(self.vectors[row])
            return _Query(q, float(self.norms[row]), [(row, 0.0)], row,
                          {"kind": "id", "id": str(id)}, None)
        if text is not None:
            _check_text(text, "text")
            q = self._query_encoder().texts([text])
            return self._attached(q, {"kind": "text", "text": text},
                                  PathStep("query", "query", text))
        if image is not None:
            q = self._aligned(self._query_encoder().images([image]))
            name = str(image) if isinstance(image, str | os.PathLike) else None
            return self._attached(q, {"kind": "image", "image": name},
                                  PathStep("query", "query", None))
        v = np.asarray(vector)
        if v.ndim != 1 or v.shape[0] != self.dim:
            raise InputError(f"query vector must have shape ({self.dim},), got {v.shape}")
        return self._attached(v[None, :], {"kind": "vector"}, PathStep("query", "query", None))

    def _aligned(self, rows: np.ndarray) -> np.ndarray:
        return rows if self._aligner is None else self._aligner.transform(rows)

    def _attached(self, rows, info: dict, step: PathStep) -> _Query:
        q = check_unit_rows(rows, normalize=True, name="query")[0]
        if q.shape[0] != self.dim:
            raise InputError(f"query has dimension {q.shape[0]}, the index {self.dim}")
        q_norm = float(row_norms(q[None, :])[0])
        scores = np.asarray(self.vectors) @ q
        vertices, lengths = query_edges(q, q_norm, self.vectors, self.norms, scores,
                                        self.threshold)
        return _Query(q, q_norm, list(zip(vertices.tolist(), lengths.tolist(), strict=True)),
                      -1, info, step, scores)

    def _dijkstra(self, sources, k, exclude, settle=()) -> BoundedSearch:
        g = self.graph
        return bounded_dijkstra(g.indptr, g.indices, g.data, sources, self.is_image, k,
                                exclude=exclude, settle=settle)

    def _rank(self, query: _Query, k: int, metric: str, paths: bool) -> SearchResult:
        def near(m: int) -> tuple[np.ndarray, np.ndarray]:
            if query.scores is None:
                query.scores = np.asarray(self.vectors) @ query.vector
            return nearest_by_angle(query.vector, query.norm, self.vectors, self.norms,
                                    query.scores, self.is_image, m, query.exclude)

        euclid = near(k) if metric != "geodesic" else (np.empty(0), np.empty(0, np.int64))
        found = self._dijkstra(query.sources, k if metric != "euclidean" else 0,
                               query.exclude, settle=euclid[1].tolist())
        geodesic = []
        if metric != "euclidean":
            rows = [v for _, v in found.nearest]
            if len(rows) < k:  # exhausted: every other image is unreachable
                reached = set(rows)
                rest = near(k + len(rows))[1]
                rows += [v for v in rest.tolist() if v not in reached][:k - len(rows)]
            geodesic = self._hits(query, np.array(rows, np.int64), found, paths)
        return SearchResult(query=query.info, geodesic=geodesic,
                            euclidean=self._hits(query, euclid[1], found, paths))

    def _hits(self, query: _Query, rows: np.ndarray, found: BoundedSearch,
              paths: bool) -> list[Hit]:
        angles = arc_lengths(query.vector, query.norm, self.vectors, self.norms, rows)
        hits = []
        for rank, (row, angle) in enumerate(zip(rows.tolist(), angles.tolist(), strict=True), 1):
            dist = found.distance(row)
            path = None
            if paths and math.isfinite(dist):
                rows = found.path(row)
                attach = found.distance(rows[0]) if query.step else None
                path = ([query.step] if query.step else []) + self._path_steps(rows, attach)
            hits.append(Hit(rank=rank, id=self._ids[row], geodesic=dist, euclidean=angle,
                            reachable=math.isfinite(dist), path=path))
        return hits

    @property
    def query_kinds(self) -> list[str]:
        """The queries this index answers: always ``id`` and ``vector``; ``text`` and
        ``image`` when it records a run or an encoder that embeds them; ``modify`` with a
        compose run trained in Joint."""
        encoder = self.manifest.get("encoder") or {}
        run = self.manifest.get("model") or {}
        kinds = ["id", "vector"]
        if run.get("run") or encoder:
            kinds.append("text")
        if run.get("run") or encoder.get("kind") == "open_clip" or \
                encoder.get("image_function"):
            kinds.append("image")
        if run.get("run") and run.get("kind") == "compose":
            kinds.append("modify")
        return kinds

    def _query_encoder(self):
        """What embeds text and image queries: the manifest's encoder, else its run."""
        if self._encoder is None:
            spec = self.manifest.get("encoder")
            model = self.manifest.get("model") or {}
            if spec:
                from .pretrained import encoder_from_spec

                self._encoder = encoder_from_spec(spec)
            elif model.get("run"):
                from .encoders import RunEncoder, run_checksum

                if run_checksum(model["run"]) != model.get("checksum"):
                    raise InputError(f"{model['run']}: the run changed since the index was "
                                     "built (checksum differs); rebuild the index")
                self._encoder = RunEncoder(model["run"])
            else:
                raise InputError("this index was built from bare vectors without an encoder: "
                                 "it answers id and vector queries; for text and image "
                                 "queries build it with --encoder open_clip:MODEL --pretrained "
                                 "FILE, --encoder sentence-transformers, or a RUN")
        return self._encoder


def _check_text(text, name: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{name} query is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes a shell passed that are not UTF-8 (surrogates)
        raise InputError(f"{name} query is not valid UTF-8 text (character {exc.start + 1} "
                         "is an undecodable byte)") from None
