"""ManifoldIndex: a persistent geodesic search engine over images and sentences.

Build once from a Collection and a trained run (or from embedding arrays), save it as a
self-describing directory (:mod:`.store`), load it memory-mapped, and query it with an
image, a sentence, a vector, an indexed item's id, or an image plus a modification
sentence; each result can carry the chain of images and sentences that connects it to
the query. The index holds the arrays, the graph and the manifest (:mod:`.manifest`);
its ids and metadata are a :class:`~.lookup.VertexTable`; adding vertices computes its
next :class:`~.adding.VertexState` (:func:`~.adding.grow`), and every query goes to a
:class:`~.searching.Searcher`. Both read the index only through its public attributes
and methods, and neither is a base class: the index is this one class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..manifold.graph import graph_summary
from . import store
from .adding import VertexState, grow
from .alignment import aligner_from
from .assembly import assemble
from .lookup import UnknownIdError, VertexTable
from .manifest import Counts, IndexManifest
from .results import PathStep, SearchResult
from .searching import METRICS, Attachment, Searcher
from .vertices import Vertices, build_inputs

__all__ = ["METRICS", "ManifoldIndex", "UnknownIdError"]


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
    table : VertexTable
        Vertex ids in row order and their metadata.
    """

    def __init__(self, state: VertexState, info: IndexManifest, *, align=None, directory=None):
        """Hold ``state`` (rows, graph, table) and ``info``; use :meth:`build` or :meth:`load`.

        ``align`` is the ICP map's saved state (None without one); ``directory`` the
        index directory it was loaded from (item metadata are read there on first use).
        """
        self.directory = None if directory is None else Path(directory)
        self._install(state)
        self.info = info
        self.threshold = float(info.threshold)
        self._align_state, self._aligner = align, aligner_from(align)
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
        state, info, align_state = assemble(
            vertices,
            threshold=threshold,
            target_degree=target_degree,
            align=align,
            graph=graph,
            model=model,
            encoder=encoder,
            collection=collection,
            seed=seed,
        )
        index = cls(state, info, align=align_state)
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

    def _count(self) -> None:
        n, n_images = len(self.table), int(np.count_nonzero(self.is_image))
        self.info = self.info.with_counts(
            Counts(n, n_images, n - n_images, int(self.graph.nnz // 2))
        )

    # ------------------------------------------------------------------ vertices

    @property
    def state(self) -> VertexState:
        """Graph, vectors, norms, kinds and vertex table, as one value (:mod:`.adding`)."""
        return VertexState(self.graph, self.vectors, self.norms, self.kinds, self.table)

    def _install(self, state: VertexState) -> None:
        self.graph, self.vectors, self.norms = state.graph, state.vectors, state.norms
        self.kinds, self.table = state.kinds, state.table
        self.is_image = self.kinds == store.IMAGE

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

        :func:`.adding.grow` documents the rules (skipped, conflicting and replaced ids;
        the graph equals a rebuild's). Returns the number of vertices added.
        """
        state, added = grow(
            self,
            collection,
            image_embeddings=image_embeddings,
            text_embeddings=text_embeddings,
            progress=progress,
            replace=replace,
        )
        self._install(state)
        self._count()
        return added

    @property
    def ids(self) -> list[str]:
        """Vertex ids in row order (images and text vertices)."""
        return self.table.ids

    def row(self, id: str) -> int:
        """Return the vertex row of an id; :class:`UnknownIdError` if it is not indexed."""
        return self.table.row(id)

    def item(self, id: str) -> dict:
        """Metadata of a vertex: ``{"id", "kind", "path", "text", "labels"}``."""
        return self.table.item_at(self.table.row(id))

    def item_at(self, row: int) -> dict:
        """Metadata of the vertex in row ``row`` (a copy), as :meth:`item`."""
        return self.table.item_at(row)

    def image_path(self, id: str) -> Path:
        """Return the image file of an indexed image vertex."""
        return self.table.image_path(id)

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

    def stats(self) -> dict:
        """Graph statistics (:func:`~textmanifold.manifold.graph.graph_summary`)."""
        return graph_summary(self.graph, self.is_image)

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
                ids=self.table.ids,
                graph=self.graph,
                items=self.table.items(),
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
        table = VertexTable(arrays["ids"], items_file=root / "items.jsonl")
        state = VertexState(
            arrays["graph"], arrays["vectors"], arrays["norms"], np.asarray(arrays["kinds"]), table
        )
        return cls(state, info, align=arrays["align"], directory=root)

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
