"""The geodesic core: ICP alignment, great-circle graphs, geodesic neighbours.

numpy / scipy, with one numba kernel for k > 1 nearest sources (FAISS optional): bring
float arrays from any model. This package never imports torch, and it imports nothing
of the package above :mod:`textmanifold.validation` (``docs/architecture.md``).

The edge rule of every great-circle graph is public, so that a query attached to a
graph later (:mod:`textmanifold.index`) gets bit-for-bit the edges a rebuild would give
it: :func:`row_norms` (float64 norms of float32 rows), :func:`exact_inner` (the one
canonical float64 cosine of a pair) and :func:`margin` (how far a float32 product may
be from it, the loosening of the candidate bound).
"""

from ._search import exact_inner, margin, row_norms
from .align import ICPAligner, align_to_descriptions
from .geodesic import (
    GeodesicKNNClassifier,
    k_nearest_sources,
    nearest_source,
    shortest_path,
)
from .graph import (
    MIN_WEIGHT,
    check_edge_rule,
    check_unit_rows,
    edges_to,
    great_circle_graph,
    mean_degree,
    threshold_for_degree,
)
from .knn import UNRETRIEVABLE, EuclideanKNNClassifier
from .paths import SmoothPathCount, count_smooth_paths
from .retrieval import Retrieval, retrieve_labelled

__all__ = [
    "MIN_WEIGHT",
    "UNRETRIEVABLE",
    "EuclideanKNNClassifier",
    "GeodesicKNNClassifier",
    "ICPAligner",
    "Retrieval",
    "SmoothPathCount",
    "align_to_descriptions",
    "check_edge_rule",
    "check_unit_rows",
    "count_smooth_paths",
    "edges_to",
    "exact_inner",
    "great_circle_graph",
    "k_nearest_sources",
    "margin",
    "mean_degree",
    "nearest_source",
    "retrieve_labelled",
    "row_norms",
    "shortest_path",
    "threshold_for_degree",
]
