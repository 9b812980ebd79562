"""ManifoldIndex: a persistent geodesic search engine over images and sentences.

Build once from a Collection and a trained run (or from embedding arrays), save it as a
self-describing directory (:mod:`.store`), load it memory-mapped, and query it with an
image, a sentence, a vector, an indexed item's id, or an image plus a modification
sentence (the query methods live in :mod:`.searching`); each result can carry the chain
of images and sentences that connects it to the query.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .. import io
from ..collection import Collection, read_collection
from ..errors import InputError, MissingFileError
from ..manifold.graph import build_graph, graph_summary
from ..validation import check_graph, check_ids, check_unit_rows
from . import store
from .extend import extend_graph
from .scan import row_norms
from .searching import METRICS, Searching, UnknownIdError
from .vertices import (
    Vertices,
    aligner_from,
    aligner_state,
    check_alignable,
    collection_records,
    fit_alignment,
    gather,
)

__all__ = ["METRICS", "ManifoldIndex", "UnknownIdError"]


class ManifoldIndex(Searching):
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
    manifest : dict
        What ``manifest.json`` holds (see :mod:`.store`).
    """

    def __init__(self, *, vectors, norms, kinds, ids, graph, manifest, items=None,
                 align=None, directory=None):
        self.vectors, self.norms = vectors, norms
        self.kinds = np.asarray(kinds)
        self.is_image = self.kinds == store.IMAGE
        self.graph = graph
        self.manifest = manifest
        self.threshold = float(manifest["threshold"])
        self._ids, self._row, self._items = list(ids), None, items
        self._align_state, self._aligner = align, aligner_from(align)
        self.directory = None if directory is None else Path(directory)
        self._encoder = None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_arrays(cls, vertices: Vertices, *, threshold=None, target_degree=None,
                    align: bool = False, graph=None, model=None, encoder=None,
                    collection=None, seed: int = 0) -> ManifoldIndex:
        """An index on given rows; the graph is built unless ``graph`` is given.

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
        aligner = fit_alignment(vertices) if align else None
        image = vertices.image if aligner is None else aligner.transform(vertices.image)
        X = check_unit_rows(np.concatenate([image, vertices.text]), name="embeddings")
        ids = check_ids(vertices.image_ids + vertices.text_ids, len(X), name="embedding ids")
        if graph is None:
            graph, threshold = build_graph(X, threshold=threshold, target_degree=target_degree)
        else:
            graph = check_graph(graph)
            if graph.shape != (len(X), len(X)) or threshold is None:
                raise InputError("a prebuilt graph must be (n, n) on the rows, with threshold")
        kinds = np.repeat(np.array([store.IMAGE, store.TEXT], np.uint8),
                          [len(vertices.image_ids), len(vertices.text_ids)])
        manifest = {
            "format": store.FORMAT, "format_version": store.FORMAT_VERSION,
            "created_by": store.created_by(), "model": model, "encoder": encoder,
            "seed": seed,
            "collection": None if collection is None else str(Path(
                collection.root if isinstance(collection, Collection) else collection
            ).resolve()),
            "dim": int(X.shape[1]), "threshold": float(threshold),
            "target_degree": target_degree, "metric": "great-circle radians",
            "align": None if aligner is None else {"method": "icp-paired",
                                                   "residual": aligner.residual_,
                                                   "pairs": aligner.n_pairs_},
        }
        index = cls(vectors=X, norms=row_norms(X), kinds=kinds, ids=ids, graph=graph,
                    manifest=manifest, items=vertices.items, align=aligner_state(aligner))
        index._count()
        return index

    @classmethod
    def build(cls, collection, run=None, *, image_embeddings=None, text_embeddings=None,
              threshold=None, target_degree=None, align: bool = True, seed: int = 0,
              progress: bool = False, work_dir=None, device: str = "cpu",
              encoder=None) -> ManifoldIndex:
        """Embed a Collection with a run or an encoder (or take embedding files), align,
        build the graph.

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
        if run is not None and encoder is not None:
            raise InputError("give a run or an encoder, not both")
        coll = None if collection is None else (
            collection if isinstance(collection, Collection) else read_collection(collection))
        if align and coll is not None and image_embeddings is None:
            described = sum(1 for it in coll.images() if it.text)
            check_alignable(described, len(coll.images()), str(coll.root))
        model = None
        if run is not None:
            from .encoders import RunEncoder

            encoder = RunEncoder(run, device=device, text_cache=None)
            model = {"run": encoder.spec["run"], "kind": encoder.kind,
                     "checksum": encoder.spec["checksum"], "dim": encoder.dim}
        embed_with = None if image_embeddings is not None else encoder
        if embed_with is None and image_embeddings is None:
            raise InputError("give a run or an encoder to embed the collection, or "
                             "image embeddings")
        vertices = gather(coll, embed_with, image_embeddings=image_embeddings,
                          text_embeddings=text_embeddings, work_dir=work_dir,
                          progress=progress)
        if encoder is not None and vertices.image.shape[1] != encoder.dim:
            raise InputError(f"the embeddings have dimension {vertices.image.shape[1]}, the "
                             f"encoder {encoder.dim}: queries could not be compared to them")
        index = cls.from_arrays(vertices, threshold=threshold, target_degree=target_degree,
                                align=align, model=model, collection=coll, seed=seed,
                                encoder=None if run is not None or encoder is None
                                else encoder.spec)
        index._encoder = encoder
        return index

    def add(self, collection=None, *, image_embeddings=None, text_embeddings=None,
            progress: bool = False, replace: bool = False) -> int:
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
        coll = None if collection is None else (
            collection if isinstance(collection, Collection) else read_collection(collection))
        if image_embeddings is not None:
            given = gather(coll, None, image_embeddings=image_embeddings,
                           text_embeddings=text_embeddings)
            if given.image.shape[1] != self.dim:
                raise InputError(f"image embeddings have dimension {given.image.shape[1]}, "
                                 f"the index {self.dim}")
            rows = self._aligned_rows(given)
            clash = self._conflicts(given.items, rows)
        else:
            clash = self._conflicts(collection_records(coll))
        if clash and not replace:
            shown = ", ".join(repr(i) for i in clash[:3]) + (
                f" and {len(clash) - 3} more" if len(clash) > 3 else "")
            raise InputError(f"{len(clash)} ids are already in the index with another item "
                             f"(other image, text, labels or vector): {shown}; pass --replace "
                             "(replace=True) to replace them, or build a new index")
        if clash:
            self._remove(clash)
        known = set(self._ids)
        if image_embeddings is not None:
            keep = [i for i, record in enumerate(given.items) if record["id"] not in known]
            X, new_items = rows[keep], [given.items[i] for i in keep]
            n_images = sum(1 for r in new_items if r["kind"] == "image")
        else:
            new = gather(coll, self._query_encoder(), progress=progress, skip=known)
            if new.image.shape[1] != self.dim:
                raise InputError(f"new rows have dimension {new.image.shape[1]}, the index "
                                 f"{self.dim}")
            X, new_items, n_images = self._aligned_rows(new), new.items, len(new.image_ids)
        if not new_items:
            return 0
        self.graph = extend_graph(self.graph, np.asarray(self.vectors), X, self.threshold)
        kinds = np.repeat(np.array([store.IMAGE, store.TEXT], np.uint8),
                          [n_images, len(new_items) - n_images])
        self.vectors = np.concatenate([self.vectors, X])
        self.norms = np.concatenate([self.norms, row_norms(X)])
        self.kinds = np.concatenate([self.kinds, kinds])
        self.is_image = self.kinds == store.IMAGE
        self._items = self._all_items() + new_items
        self._ids += [record["id"] for record in new_items]
        self._row = None
        self._count()
        return len(new_items)

    def _aligned_rows(self, vertices: Vertices) -> np.ndarray:
        """Image rows through the index's alignment, then text rows; unit float32."""
        image = vertices.image if self._aligner is None else \
            self._aligner.transform(vertices.image)
        rows = np.concatenate([image, vertices.text])
        if rows.shape[1] != self.dim:
            raise InputError(f"new rows have dimension {rows.shape[1]}, the index {self.dim}")
        return check_unit_rows(rows, name="new embeddings") if len(rows) else \
            rows.astype(np.float32)

    def _conflicts(self, records: list[dict], rows: np.ndarray | None = None) -> list[str]:
        """Ids of ``records`` already indexed with other metadata (or another vector)."""
        items = self._all_items()
        clash = []
        for position, record in enumerate(records):
            row = self._row_of().get(record["id"])
            if row is None:
                continue
            if items[row] != record or (rows is not None and not np.allclose(
                    self.vectors[row], rows[position], rtol=0, atol=1e-5)):
                clash.append(record["id"])
        return clash

    def _remove(self, ids: list[str]) -> None:
        """Drop vertices and their edges; the other vertices keep their edges."""
        keep = np.ones(len(self._ids), dtype=bool)
        keep[[self.row(i) for i in ids]] = False
        rows = np.flatnonzero(keep)
        self.graph = self.graph[rows][:, rows].tocsr()
        self.vectors = np.asarray(self.vectors)[rows]
        self.norms = np.asarray(self.norms)[rows]
        self.kinds = self.kinds[rows]
        self.is_image = self.kinds == store.IMAGE
        items = self._all_items()
        self._items = [items[r] for r in rows.tolist()]
        self._ids = [self._ids[r] for r in rows.tolist()]
        self._row = None

    def _count(self) -> None:
        n_images = int(np.count_nonzero(self.is_image))
        self.manifest["counts"] = {"vertices": len(self._ids), "images": n_images,
                                   "texts": len(self._ids) - n_images,
                                   "edges": int(self.graph.nnz // 2)}

    # ------------------------------------------------------------------ persistence

    def save(self, directory, *, force: bool = False) -> None:
        """Write the index directory atomically; an existing one only with ``force``.

        ``force`` replaces an existing index's own files and nothing else: a directory
        that holds a Collection, a run or other files is refused before anything is
        written (:func:`.store.check_replaceable`).
        """
        target = Path(directory)
        if target.exists() and not force and (not target.is_dir() or any(target.iterdir())):
            raise InputError(f"{target} already exists; pass --force (force=True) to replace it")
        store.check_replaceable(target)
        staging = store.staging_directory(target)
        try:
            store.write_arrays(staging, vectors=self.vectors, norms=self.norms,
                               kinds=self.kinds, ids=self._ids, graph=self.graph,
                               items=self._all_items(), align=self._align_state,
                               manifest=self.manifest)
            store.commit_directory(staging, target, force)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
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
        manifest = store.read_manifest(root)
        arrays = store.read_arrays(root, manifest, mmap)
        return cls(vectors=arrays["vectors"], norms=arrays["norms"], kinds=arrays["kinds"],
                   ids=arrays["ids"], graph=arrays["graph"], manifest=manifest,
                   align=arrays["align"], directory=root)

    # ------------------------------------------------------------------ lookup

    @property
    def ids(self) -> list[str]:
        """Vertex ids in row order (images and text vertices)."""
        return self._ids

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def n_images(self) -> int:
        return int(self.manifest["counts"]["images"])

    @property
    def n_texts(self) -> int:
        return int(self.manifest["counts"]["texts"])

    def row(self, id: str) -> int:
        """The vertex row of an id; :class:`UnknownIdError` if it is not indexed."""
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
        return dict(self._all_items()[self.row(id)])

    def image_path(self, id: str) -> Path:
        """The image file of an indexed image vertex."""
        record = self.item(id)
        if record["kind"] != "image":
            raise InputError(f"{id!r} is a text vertex, not an image")
        if not record.get("path"):
            raise MissingFileError(f"{id!r}: the index holds no image path for it")
        return Path(record["path"])

    def stats(self) -> dict:
        """Graph statistics (:func:`~textmanifold.manifold.graph.graph_summary`)."""
        return graph_summary(self.graph, self.is_image)
