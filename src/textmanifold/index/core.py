"""ManifoldIndex: a persistent geodesic search engine over images and sentences.

Build once from a Collection and a trained run (or from embedding arrays), save it as a
self-describing directory (:mod:`.store`), load it memory-mapped, and query it with an
image, a sentence, a vector, an indexed item's id, or an image plus a modification
sentence; each result can carry the chain of images and sentences that connects it to
the query. The index holds the arrays, the graph and the manifest (:mod:`.manifest`);
it hands every query to a :class:`~.searching.Searcher`, which reads only its public
attributes and methods.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import io
from ..collection import Collection, read_collection
from ..errors import InputError, MissingFileError
from ..manifold.graph import build_graph, graph_summary
from ..validation import check_graph, check_unit_rows
from . import store
from .extend import extend_graph
from .manifest import Counts, IndexManifest
from .results import PathStep, SearchResult
from .scan import row_norms
from .searching import METRICS, Attachment, Searcher
from .vertices import (
    Vertices,
    aligner_from,
    aligner_state,
    build_inputs,
    check_no_conflict,
    collection_records,
    conflicting_ids,
    gather,
    vertex_rows,
)

__all__ = ["METRICS", "ManifoldIndex", "UnknownIdError"]


class UnknownIdError(InputError):
    """An id that is not a vertex of the index."""


class ManifoldIndex:
    """Geodesic image search on a great-circle graph of image and text vertices.

    Build with :meth:`build` (or :meth:`from_arrays`), reopen with :meth:`load`.

    Attributes
    ----------
    vectors : ndarray of shape (n, d), float32
        Unit rows, image vertices aligned onto the text cloud (memory-mapped on load).
    graph : scipy.sparse.csr_matrix of shape (n, n), float64
        Great-circle edges in radians.
    threshold : float
        The edge threshold in radians.
    info : IndexManifest
        What ``manifest.json`` holds, typed (:mod:`.manifest`); :attr:`manifest` is its
        JSON object.
    """

    def __init__(
        self,
        *,
        vectors,
        norms,
        kinds,
        ids,
        graph,
        info: IndexManifest,
        items=None,
        align=None,
        directory=None,
    ):
        self.vectors, self.norms = vectors, norms
        self.kinds = np.asarray(kinds)
        self.is_image = self.kinds == store.IMAGE
        self.graph = graph
        self.info = info
        self.threshold = float(info.threshold)
        self._ids, self._row, self._items = list(ids), None, items
        self._align_state, self._aligner = align, aligner_from(align)
        self.directory = None if directory is None else Path(directory)
        self._encoder = None
        self._searcher = Searcher(self)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_arrays(
        cls,
        vertices: Vertices,
        *,
        threshold=None,
        target_degree=None,
        align: bool = False,
        graph=None,
        model=None,
        encoder=None,
        collection=None,
        seed: int = 0,
    ) -> ManifoldIndex:
        """Make an index on given rows; the graph is built unless ``graph`` is given.

        Parameters
        ----------
        vertices : Vertices
            Image rows (n_images, d) and text rows (n_texts, d), ids and metadata.
        threshold, target_degree : float
            Edge rule (radians, or a mean degree); exactly one unless ``graph`` is given,
            which needs ``threshold`` (the rule queries are attached by).
        align : bool
            Map image rows onto their descriptions (paired ICP) first.
        graph : sparse matrix of shape (n, n), optional
            A prebuilt graph on exactly these rows (images then texts).
        model : dict, optional
            The run that embeds queries: ``{"run", "kind", "checksum", "dim"}``.
        encoder : dict, optional
            Or the pretrained encoder that embeds them: its ``spec``
            (:mod:`.pretrained`), recorded as the manifest's ``"encoder"``.
        """
        aligner, X, ids, kinds = vertex_rows(vertices, align)
        if graph is None:
            graph, threshold = build_graph(X, threshold=threshold, target_degree=target_degree)
        else:
            graph = check_graph(graph)
            if graph.shape != (len(X), len(X)) or threshold is None:
                raise InputError("a prebuilt graph must be (n, n) on the rows, with threshold")
        info = IndexManifest.for_build(
            dim=X.shape[1],
            threshold=threshold,
            target_degree=target_degree,
            model=model,
            encoder=encoder,
            seed=seed,
            aligner=aligner,
            collection=collection.root if isinstance(collection, Collection) else collection,
        )
        index = cls(
            vectors=X,
            norms=row_norms(X),
            kinds=kinds,
            ids=ids,
            graph=graph,
            info=info,
            items=vertices.items,
            align=aligner_state(aligner),
        )
        index._count()
        return index

    @classmethod
    def build(
        cls,
        collection,
        run=None,
        *,
        image_embeddings=None,
        text_embeddings=None,
        threshold=None,
        target_degree=None,
        align: bool = True,
        seed: int = 0,
        progress: bool = False,
        work_dir=None,
        device: str = "cpu",
        encoder=None,
    ) -> ManifoldIndex:
        """Embed a Collection, align it and build the graph.

        The Collection is embedded with a run or an encoder, or embedding files are taken.

        Parameters
        ----------
        collection : path-like or None
            Its images, descriptions and text items become vertices (with ``run`` or
            ``encoder``), and give every vertex's metadata; None with embedding arrays only.
        run : path-like, optional
            A joint run, or a compose run trained in Joint (enables ``modify=``). Also
            embeds text and image queries later.
        image_embeddings, text_embeddings : path or (array, ids), optional
            Precomputed rows instead of embedding with ``run`` or ``encoder``; with an
            ``encoder`` as well, the encoder only embeds later queries (its width must
            be the rows').
        threshold, target_degree : float
            The edge rule: radians, or the mean degree to aim for. Exactly one.
        align : bool, default True
            Paired ICP of each described image onto its description ``text:<image id>``;
            images without one are moved by the same map. Checked before any embedding:
            at least two images must have a description.
        seed : int
            Recorded; the build itself has no random step.
        progress : bool
        work_dir : path-like, optional
            Keeps finished embedding blocks so an interrupted build resumes.
        device : str
        encoder : pretrained encoder, optional
            An :class:`~.pretrained.OpenClipEncoder` or :class:`~.pretrained.SentenceEncoder`
            (:func:`~.pretrained.parse_encoder`), instead of ``run``.
        """
        coll, vertices, model, encoder = build_inputs(
            collection,
            run,
            encoder=encoder,
            image_embeddings=image_embeddings,
            text_embeddings=text_embeddings,
            align=align,
            work_dir=work_dir,
            progress=progress,
            device=device,
        )
        index = cls.from_arrays(
            vertices,
            threshold=threshold,
            target_degree=target_degree,
            align=align,
            model=model,
            collection=coll,
            seed=seed,
            encoder=None if run is not None or encoder is None else encoder.spec,
        )
        index._encoder = encoder
        return index

    def add(
        self,
        collection=None,
        *,
        image_embeddings=None,
        text_embeddings=None,
        progress: bool = False,
        replace: bool = False,
    ) -> int:
        """Insert new images and sentences as vertices, with their edges; no rebuild.

        Existing vertices keep their rows, ids and edges. A row whose id is already in
        the index is skipped (never embedded again) when it holds the same item (same
        metadata, and with embedding files the same vector); one that holds another
        item is a conflict: an :class:`InputError` naming the first ids, or with
        ``replace`` the old vertex is removed and the new one added. New rows go
        through the index's stored alignment and edge threshold, so the graph equals the
        one a build of the union at the same threshold and alignment would give (up to
        the row order). Parameters as in :meth:`build` (the run is the index's own).

        Returns
        -------
        int
            The number of vertices added (replaced ones included).
        """
        coll = (
            None
            if collection is None
            else (collection if isinstance(collection, Collection) else read_collection(collection))
        )
        if image_embeddings is not None:
            given = gather(
                coll, None, image_embeddings=image_embeddings, text_embeddings=text_embeddings
            )
            if given.image.shape[1] != self.dim:
                raise InputError(
                    f"image embeddings have dimension {given.image.shape[1]}, the index {self.dim}"
                )
            rows = self._aligned_rows(given)
            records = given.items
        else:
            rows, records = None, collection_records(coll)
        clash = conflicting_ids(records, self._row_of(), self._all_items(), self.vectors, rows)
        check_no_conflict(clash, replace)
        if clash:
            self._remove(clash)
        known = set(self._ids)
        if image_embeddings is not None:
            keep = [i for i, record in enumerate(given.items) if record["id"] not in known]
            X, new_items = rows[keep], [given.items[i] for i in keep]
            n_images = sum(1 for r in new_items if r["kind"] == "image")
        else:
            new = gather(coll, self.query_encoder(), progress=progress, skip=known)
            if new.image.shape[1] != self.dim:
                raise InputError(
                    f"new rows have dimension {new.image.shape[1]}, the index {self.dim}"
                )
            X, new_items, n_images = self._aligned_rows(new), new.items, len(new.image_ids)
        if not new_items:
            return 0
        kinds = np.repeat(
            np.array([store.IMAGE, store.TEXT], np.uint8), [n_images, len(new_items) - n_images]
        )
        self._set_vertices(
            extend_graph(self.graph, np.asarray(self.vectors), X, self.threshold),
            np.concatenate([self.vectors, X]),
            np.concatenate([self.norms, row_norms(X)]),
            np.concatenate([self.kinds, kinds]),
            self._all_items() + new_items,
            self._ids + [record["id"] for record in new_items],
        )
        self._count()
        return len(new_items)

    def _aligned_rows(self, vertices: Vertices) -> np.ndarray:
        """Image rows through the index's alignment, then text rows; unit float32."""
        rows = np.concatenate([self.align_images(vertices.image), vertices.text])
        if rows.shape[1] != self.dim:
            raise InputError(f"new rows have dimension {rows.shape[1]}, the index {self.dim}")
        return (
            check_unit_rows(rows, name="new embeddings") if len(rows) else rows.astype(np.float32)
        )

    def _remove(self, ids: list[str]) -> None:
        """Drop vertices and their edges; the other vertices keep their edges."""
        keep = np.ones(len(self._ids), dtype=bool)
        keep[[self.row(i) for i in ids]] = False
        rows = np.flatnonzero(keep)
        items = self._all_items()
        self._set_vertices(
            self.graph[rows][:, rows].tocsr(),
            np.asarray(self.vectors)[rows],
            np.asarray(self.norms)[rows],
            self.kinds[rows],
            [items[r] for r in rows.tolist()],
            [self._ids[r] for r in rows.tolist()],
        )

    def _set_vertices(self, graph, vectors, norms, kinds, items, ids) -> None:
        self.graph, self.vectors, self.norms, self.kinds = graph, vectors, norms, kinds
        self.is_image = self.kinds == store.IMAGE
        self._items, self._ids, self._row = items, ids, None

    def _count(self) -> None:
        n_images = int(np.count_nonzero(self.is_image))
        self.info = self.info.with_counts(
            Counts(len(self._ids), n_images, len(self._ids) - n_images, int(self.graph.nnz // 2))
        )

    # ------------------------------------------------------------------ persistence

    def save(self, directory, *, force: bool = False) -> None:
        """Write the index directory atomically; an existing one only with ``force``.

        ``force`` replaces an existing index's own files and nothing else: a directory
        that holds a Collection, a run or other files is refused before anything is
        written (:func:`.store.check_replaceable`).
        """
        target = Path(directory)
        store.write_index(
            target,
            force,
            lambda staging: store.write_arrays(
                staging,
                vectors=self.vectors,
                norms=self.norms,
                kinds=self.kinds,
                ids=self._ids,
                graph=self.graph,
                items=self._all_items(),
                align=self._align_state,
                manifest=self.info,
            ),
        )
        self.directory = target

    @classmethod
    def load(cls, directory, *, mmap: bool = True) -> ManifoldIndex:
        """Open an index directory; vectors are memory-mapped unless ``mmap=False``.

        Every file is checked first (manifest fields, vectors, norms, kinds, ids, graph,
        alignment; see :mod:`.store`): a damaged index is a
        :class:`~textmanifold.errors.DataFormatError` naming the file, never a wrong
        answer. Item metadata is read on first use (:meth:`item`, paths).
        """
        root = Path(directory)
        info = store.read_manifest(root)
        arrays = store.read_arrays(root, info, mmap)
        return cls(
            vectors=arrays["vectors"],
            norms=arrays["norms"],
            kinds=arrays["kinds"],
            ids=arrays["ids"],
            graph=arrays["graph"],
            info=info,
            align=arrays["align"],
            directory=root,
        )

    # ------------------------------------------------------------------ lookup

    @property
    def ids(self) -> list[str]:
        """Vertex ids in row order (images and text vertices)."""
        return self._ids

    @property
    def manifest(self) -> dict:
        """What ``manifest.json`` holds (:meth:`IndexManifest.to_json`; a fresh copy)."""
        return self.info.to_json()

    @property
    def dim(self) -> int:
        """The vectors' dimension."""
        return int(self.info.dim)

    @property
    def n_images(self) -> int:
        """How many image vertices the index holds."""
        return int(self.info.counts.images)

    @property
    def n_texts(self) -> int:
        """How many text vertices the index holds."""
        return int(self.info.counts.texts)

    def row(self, id: str) -> int:
        """Return the vertex row of an id; :class:`UnknownIdError` if it is not indexed."""
        try:
            return self._row_of()[str(id)]
        except KeyError:
            raise UnknownIdError(f"unknown id {id!r}: not in the index") from None

    def _row_of(self) -> dict[str, int]:
        if self._row is None:
            self._row = {v: i for i, v in enumerate(self._ids)}
        return self._row

    def _all_items(self) -> list[dict]:
        if self._items is None:
            path = self.directory / "items.jsonl"
            self._items = [record for _, record in io.iter_jsonl(path)]
            if len(self._items) != len(self._ids):
                raise InputError(f"{path}: {len(self._items)} records for {len(self._ids)} ids")
        return self._items

    def item(self, id: str) -> dict:
        """Metadata of a vertex: ``{"id", "kind", "path", "text", "labels"}``."""
        return self.item_at(self.row(id))

    def item_at(self, row: int) -> dict:
        """Metadata of the vertex in row ``row`` (a copy), as :meth:`item`."""
        return dict(self._all_items()[row])

    def image_path(self, id: str) -> Path:
        """Return the image file of an indexed image vertex."""
        record = self.item(id)
        if record["kind"] != "image":
            raise InputError(f"{id!r} is a text vertex, not an image")
        if not record.get("path"):
            raise MissingFileError(f"{id!r}: the index holds no image path for it")
        return Path(record["path"])

    def stats(self) -> dict:
        """Graph statistics (:func:`~textmanifold.manifold.graph.graph_summary`)."""
        return graph_summary(self.graph, self.is_image)

    # ------------------------------------------------------------------ queries

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

        :meth:`.searching.Searcher.search` documents the parameters.
        """
        return self._searcher.search(
            image=image,
            text=text,
            vector=vector,
            id=id,
            modify=modify,
            k=k,
            metric=metric,
            return_paths=return_paths,
        )

    def path_between(self, a: str, b: str) -> list[PathStep]:
        """Find a shortest path from vertex ``a`` to vertex ``b``; ``[]`` if unreachable.

        Each step after the first carries the angle of the edge that reaches it.
        """
        return self._searcher.path_between(a, b)

    def attach(self, vector) -> Attachment:
        """Attach an out-of-sample query ``vector`` of shape (d,) to the graph as a search does.

        ``vector`` is in the index's space (image embeddings through :meth:`align_images`
        first) and is projected onto the unit sphere; the graph itself is not changed.

        Returns an :class:`~.searching.Attachment`: the unit float32 ``vector`` (d,), its
        float64 ``norm``, the ``vertices`` (m,) int64 it is joined to, the ``lengths``
        (m,) float64 of those edges in radians (each below :attr:`threshold`), and the
        float32 ``scores`` (n,) = ``vectors @ vector``.
        """
        return self._searcher.attach(vector)

    def align_images(self, rows: np.ndarray) -> np.ndarray:
        """Map image embeddings (m, d) through the index's stored ICP map.

        Unchanged without one; the result is in the space image vertices live in.
        """
        return rows if self._aligner is None else self._aligner.transform(rows)

    @property
    def query_kinds(self) -> list[str]:
        """The queries this index answers (:meth:`IndexManifest.query_kinds`)."""
        return self.info.query_kinds()

    def query_encoder(self):
        """Open what embeds text and image queries (:func:`.encoders.open_query_encoder`)."""
        if self._encoder is None:
            from .encoders import open_query_encoder

            self._encoder = open_query_encoder(self.info)
        return self._encoder
