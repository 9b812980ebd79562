"""What a search returns: ranked hits, each with its distances and, optionally, its path.

The records are frozen dataclasses with a :meth:`to_dict` for JSON (``inf`` and ``nan``
become ``None``, since JSON has neither).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Hit", "PathStep", "SearchResult"]


@dataclass(frozen=True)
class PathStep:
    """One vertex on a geodesic path.

    Attributes
    ----------
    id : str
        The vertex's id; ``"query"`` for a query attached out of sample.
    kind : {"image", "text", "query"}
    caption : str or None
        The sentence of a text vertex, an image's description when it has one.
    angle : float or None
        Radians of the hop that reaches this vertex from the previous step (the
        great-circle edge, or the query's attachment); None on the first step. A hit's
        hop angles sum to its geodesic distance.
    """

    id: str
    kind: str
    caption: str | None
    angle: float | None = None


@dataclass(frozen=True)
class Hit:
    """One ranked image.

    Attributes
    ----------
    rank : int
        1-based position in the ranking the hit belongs to.
    id : str
        The image's item id.
    geodesic : float
        Shortest-path length from the query in radians (sum of great-circle edge
        lengths); ``math.inf`` when the image is not reachable from the query.
    euclidean : float
        Great-circle (angular) distance from the query vector in radians.
    reachable : bool
        ``geodesic`` is finite.
    path : list of PathStep or None
        The vertices from the query to the image (``return_paths=True`` and reachable).
    """

    rank: int
    id: str
    geodesic: float
    euclidean: float
    reachable: bool
    path: list[PathStep] | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict; a non-finite ``geodesic`` becomes ``None``."""
        out = asdict(self)
        for key in ("geodesic", "euclidean"):
            if not math.isfinite(out[key]):
                out[key] = None
        return out


@dataclass(frozen=True)
class SearchResult:
    """The two rankings of one query.

    Attributes
    ----------
    query : dict
        What was asked: ``{"kind": "text"|"image"|"id"|"vector"|"composed", ...}``.
    geodesic : list of Hit
        Ranked by geodesic distance; unreachable images come last, ordered by
        Euclidean distance. Empty when ``metric="euclidean"``.
    euclidean : list of Hit
        Ranked by angular distance. Empty when ``metric="geodesic"``.
    """

    query: dict
    geodesic: list[Hit]
    euclidean: list[Hit]

    def to_dict(self) -> dict:
        """Return a JSON-ready dict with the same three keys."""
        return {
            "query": dict(self.query),
            "geodesic": [h.to_dict() for h in self.geodesic],
            "euclidean": [h.to_dict() for h in self.euclidean],
        }


def _distance(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.4f}" if math.isfinite(value) else "unreachable"


def _show_step(step: PathStep) -> str:
    if step.kind == "text" or (step.kind == "query" and step.caption):
        return f'"{step.caption}"' if step.kind == "query" else f'{step.id} "{step.caption}"'
    return step.id


def format_table(result: SearchResult, *, paths: bool = False) -> str:
    """Format the rankings as aligned text tables (one per metric asked), for people.

    Distances are radians; an unreachable image shows ``unreachable``. With ``paths``
    each reachable hit is followed by its vertex sequence from the query.
    """
    lines = []
    for name, hits in (("geodesic", result.geodesic), ("euclidean", result.euclidean)):
        if not hits and name == "euclidean" and result.geodesic:
            continue
        if not hits and name == "geodesic" and result.euclidean:
            continue
        lines.append(f"ranked by {name} distance (radians)")
        width = max([len("id")] + [len(h.id) for h in hits])
        lines.append(f"{'rank':>4}  {'id':<{width}}  {'geodesic':>11}  {'euclidean':>9}")
        for h in hits:
            lines.append(
                f"{h.rank:>4}  {h.id:<{width}}  {_distance(h.geodesic):>11}  "
                f"{_distance(h.euclidean):>9}"
            )
            if paths and h.path:
                lines.append("      path: " + " -> ".join(_show_step(s) for s in h.path))
        if not hits:
            lines.append("      (no images)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
