"""The search engine: a persistent geodesic index over images and sentences.

:class:`ManifoldIndex` builds a great-circle graph on a trained run's image and text
embeddings (images ICP-aligned onto their descriptions), saves it as a self-describing,
memory-mappable directory, and answers image, sentence, vector, id and composed
(image + modification) queries with their geodesic and angular k nearest images and the
paths that connect them. The core is numpy / scipy; torch loads only to embed queries.
"""

from .core import METRICS, ManifoldIndex, UnknownIdError
from .results import Hit, PathStep, SearchResult
from .vertices import Vertices

__all__ = [
    "METRICS",
    "Hit",
    "ManifoldIndex",
    "PathStep",
    "SearchResult",
    "UnknownIdError",
    "Vertices",
]
