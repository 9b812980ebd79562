"""Checkers for parameters: counts, options, intervals, fitted state, ids.

Imported from :mod:`textmanifold.validation`.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..errors import InputError, NotFittedError

__all__ = [
    "check_ids",
    "check_interval",
    "check_is_fitted",
    "check_option",
    "check_positive_int",
    "is_finite_number",
]

_CLOSED = ("both", "left", "right", "neither")


def check_positive_int(value, name: str) -> int:
    """Validate a count: an integer (Python or numpy, not ``bool``) of at least 1.

    Parameters
    ----------
    value : object
        The value given.
    name : str
        The parameter or option name, for the message (e.g. ``"batch_size"``, ``"--k"``).

    Returns
    -------
    int

    Raises
    ------
    InputError
        ``value`` is not an integer (``1.5``, ``"3"``, ``True``) or is below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_option(name: str, value, choices: Iterable):
    """Validate a choice among a fixed set of options (``method``, ``--metric``, ...).

    Parameters
    ----------
    name : str
        The parameter or option name, for the message.
    value : object
        The value given.
    choices : iterable
        The accepted values, in the order the message lists them.

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    InputError
        ``<name> must be one of <choices>, got <value>``.
    """
    choices = tuple(choices)
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def check_interval(
    name: str,
    value,
    low=None,
    high=None,
    *,
    closed: str = "both",
    labels: tuple[str, str] | None = None,
    unit: str = "",
    why: str = "",
):
    """Validate a finite real number in an interval (either end may be open or absent).

    Parameters
    ----------
    name : str
        The parameter or option name, for the message.
    value : object
        The value given; ``bool``, NaN, inf and non-numbers are refused.
    low, high : float, optional
        The ends; ``None``: unbounded on that side.
    closed : {"both", "left", "right", "neither"}, default "both"
        Which ends belong to the interval.
    labels : (str, str), optional
        How the message names the ends when they stand for something (``("0", "pi")``,
        ``("1", "n")``); their values follow (``(0, n - 1) = (0, 9)``).
    unit : str, optional
        Written after the interval (``"radians"``, ``"pixels"``).
    why : str, optional
        The reason for the bound, written in parentheses.

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    InputError
        ``<name> must be <the interval>, got <value>``: ``must be >= 0``, ``must be
        positive``, ``must be in (0, pi] radians``.
    """
    check_option("closed", closed, _CLOSED)
    left, right = closed in ("both", "left"), closed in ("both", "right")
    inside = is_finite_number(value) and not (
        (low is not None and (value < low if left else value <= low))
        or (high is not None and (value > high if right else value >= high))
    )
    if not inside:
        rule = _interval_text(low, high, left, right, labels)
        rule += f" {unit}" if unit else ""
        rule += f" ({why})" if why else ""
        raise InputError(f"{name} must be {rule}, got {value!r}")
    return value


def _interval_text(low, high, left: bool, right: bool, labels) -> str:
    """Describe an interval: ``>= 0``, ``positive``, ``<= 1`` or ``in [a, b)``.

    With ``labels``: ``in (0, pi] = (0, 3.14159]``.
    """
    if high is None:
        return "positive" if low == 0 and not left else f"{'>=' if left else '>'} {low:g}"
    if low is None:
        return f"{'<=' if right else '<'} {high:g}"

    def shown(a, b) -> str:
        return f"{'[' if left else '('}{a}, {b}{']' if right else ')'}"

    numbers = shown(f"{low:g}", f"{high:g}")
    if labels is None or tuple(labels) == (f"{low:g}", f"{high:g}"):
        return f"in {numbers}"
    return f"in {shown(*labels)} = {numbers}"


def is_finite_number(value) -> bool:
    """Tell whether ``value`` is a finite real number.

    ``None``, ``bool``, a string, NaN and inf are not.
    """
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def check_is_fitted(
    estimator, attributes: str | Iterable[str] | None = None, *, fit_call: str = "fit"
) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted.

    Parameters
    ----------
    estimator : object
        The estimator.
    attributes : str or iterable of str, optional
        Fitted attributes that must all be present. Default: any attribute whose name
        ends with ``_`` (scikit-learn's convention for learned state).
    fit_call : str, default "fit"
        How the message tells to fit it, e.g. ``"fit(X, y)"``.

    Raises
    ------
    NotFittedError
        ``"<Class> is not fitted; call <fit_call> first"``.
    """
    if isinstance(attributes, str):
        attributes = [attributes]
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    else:
        fitted = all(hasattr(estimator, a) for a in attributes)
    if not fitted:
        raise NotFittedError(f"{type(estimator).__name__} is not fitted; call {fit_call} first")


def check_ids(ids, n_rows: int | None = None, name: str = "ids") -> list[str]:
    """Validate row ids: non-empty strings, all different, one per row.

    Parameters
    ----------
    ids : sequence of str
        One id per row.
    n_rows : int, optional
        The number of rows the ids must match.
    name : str, default "ids"
        How the messages call the ids (a file name, say).

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        Not a list of strings, an empty id, a repeated id (naming it and how often it
        appears), or a count other than ``n_rows``.
    """
    if isinstance(ids, str | bytes | dict) or not isinstance(ids, Iterable):
        raise InputError(f"{name} must be a list of strings, got {type(ids).__name__}")
    ids = list(ids)
    for i, value in enumerate(ids):
        if not isinstance(value, str) or not value:
            raise InputError(f"{name}[{i}] must be a non-empty string, got {value!r}")
    if n_rows is not None and len(ids) != n_rows:
        raise InputError(f"{name} holds {len(ids)} ids but there are {n_rows} rows")
    if len(set(ids)) != len(ids):
        value, count = Counter(ids).most_common(1)[0]
        raise InputError(f"{name}: id {value!r} appears {count} times; ids must be unique")
    return ids
