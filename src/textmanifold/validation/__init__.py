"""Input validation shared by every public function and command.

One checker per kind of input, one message style (``<name> ...``, naming the first bad
row or value), in the spirit of scikit-learn's ``utils/validation.py`` and
``scipy.sparse.csgraph``'s ``_validation.py``:

- :func:`check_points` / :func:`check_unit_rows`: a non-empty finite ``(n, d)`` array, on
  the unit sphere for the latter;
- :func:`check_positive_int`: a count (``bool`` and ``1.5`` are refused, never truncated);
- :func:`check_option` / :func:`check_interval`: one of a fixed set of choices, a number
  in a range (scikit-learn's ``StrOptions`` / ``Interval`` idea), one message each;
- :func:`is_finite_number`: the predicate behind "a finite number" in results and verdicts;
- :func:`check_graph`: a square weighted graph, sparse or dense, as canonical CSR;
- :func:`check_is_fitted`: raises :class:`NotFittedError` before a fitted attribute is used;
- :func:`check_ids`: row ids, unique and one per row.

Every checker raises :class:`~textmanifold.errors.InputError` (or its subclass
:class:`NotFittedError`) with a one-line message.

The array checkers live in :mod:`.arrays`, the parameter checkers in :mod:`.values`;
import them from here.
"""

from __future__ import annotations

from ..errors import NotFittedError
from .arrays import UNIT_NORM_TOL, check_graph, check_points, check_unit_rows
from .values import (
    check_ids,
    check_interval,
    check_is_fitted,
    check_option,
    check_positive_int,
    is_finite_number,
)

__all__ = [
    "UNIT_NORM_TOL",
    "NotFittedError",
    "check_graph",
    "check_ids",
    "check_interval",
    "check_is_fitted",
    "check_option",
    "check_points",
    "check_positive_int",
    "check_unit_rows",
    "is_finite_number",
]
