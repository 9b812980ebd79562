"""The geodesic core: ICP alignment, great-circle graphs, geodesic neighbours.

numpy / scipy, with one numba kernel for k > 1 nearest sources (FAISS optional): bring
float arrays from any model. This package never imports torch.
"""

from .align import ICPAligner, align_to_descriptions
from .geodesic import (
    GeodesicKNNClassifier,
    k_nearest_sources,
    nearest_source,
    shortest_path,
)
from .graph import (
    MIN_WEIGHT,
    check_unit_rows,
    edges_to,
    great_circle_graph,
    mean_degree,
    threshold_for_degree,
)
from .knn import UNRETRIEVABLE, EuclideanKNNClassifier
from .paths import SmoothPathCount, count_smooth_paths

__all__ = [
    "MIN_WEIGHT",
    "UNRETRIEVABLE",
    "EuclideanKNNClassifier",
    "GeodesicKNNClassifier",
    "ICPAligner",
    "align_to_descriptions",
    "SmoothPathCount",
    "check_unit_rows",
    "count_smooth_paths",
    "edges_to",
    "great_circle_graph",
    "k_nearest_sources",
    "mean_degree",
    "nearest_source",
    "shortest_path",
    "threshold_for_degree",
    # paths.py: "SmoothPathCount", "count_smooth_paths",
]
