"""When a learning curve has stopped moving: the early-stop rule and the ``converged`` flag.

Kept apart from :mod:`textmanifold.models.validation` (which builds the validators) so
that the trainer can use the rule without importing what the validators need.
"""

from __future__ import annotations

__all__ = ["converged", "plateau_reached"]


def plateau_reached(values: list[float], patience: int, min_delta: float) -> bool:
    """True when none of the last ``patience`` values beats the best before them by more
    than ``min_delta`` (higher is better); False while fewer than ``patience + 1`` exist.

    >>> plateau_reached([0.1, 0.5, 0.51, 0.50], patience=2, min_delta=0.02)
    True
    """
    if patience < 1 or len(values) <= patience:
        return False
    return max(values[-patience:]) <= max(values[:-patience]) + min_delta


def converged(curve: list[dict], patience: int, min_delta: float) -> bool:
    """Whether the validation R@1 reached its plateau: the early-stop rule, with a
    patience of 3 measurements where the run set none."""
    return plateau_reached([p["R@1"] for p in curve], patience or 3, min_delta)
