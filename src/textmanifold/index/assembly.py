"""Assembling a new index from vertex rows: the ICP map, the graph and the manifest.

:func:`assemble` is what :meth:`ManifoldIndex.from_arrays
<textmanifold.index.ManifoldIndex.from_arrays>` does before it makes the index: align
the image rows (optional), build the great-circle graph or check a prebuilt one, and
write the manifest's build record.
"""

from __future__ import annotations

from ..collection import Collection
from ..errors import InputError
from ..manifold.graph import build_graph
from ..validation import check_graph
from .adding import VertexState
from .alignment import aligner_state
from .lookup import VertexTable
from .manifest import IndexManifest
from .scan import row_norms
from .vertices import Vertices, vertex_rows

__all__ = ["assemble"]


def assemble(
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
) -> tuple[VertexState, IndexManifest, dict | None]:
    """Make a new index's parts (parameters as in ``ManifoldIndex.from_arrays``).

    Returns
    -------
    (VertexState, IndexManifest, dict or None)
        The vertices (aligned unit rows, graph, kinds, table), the manifest without
        counts, and the ICP map's saved state (None without ``align``).
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
    state = VertexState(graph, X, row_norms(X), kinds, VertexTable(ids, vertices.items))
    return state, info, aligner_state(aligner)
