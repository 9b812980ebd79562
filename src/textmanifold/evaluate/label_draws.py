"""Table 1 as an estimate: every row averaged over many target draws.

One draw of the N-way-k-shot targets decides little: on the demo's category set the sign
of D - C flipped between single draws. :func:`label_retrieval_draws` repeats
:func:`~textmanifold.evaluate.label_retrieval.label_retrieval_table` for ``draws``
independent target draws (seeds from ``numpy.random.SeedSequence(seed)``) and
:func:`summarize_draws` reports, per row, the mean accuracy, its standard error
(sample standard deviation over the draws with a defined accuracy, divided by the
square root of their number) and the mean retrievable count; per comparison of
:data:`COMPARISONS`, the number of draws where it holds, the mean paired difference and
its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..validation import check_interval, is_finite_number
from .label_retrieval import label_retrieval_table

# (better, worse, quantity, claim): the paper's claims about Table 1.
COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    ("D", "C", "accuracy", "geodesic beats Euclidean on Image's retrievable queries"),
    ("F", "E", "accuracy", "geodesic beats Euclidean on Joint's retrievable queries"),
    ("F", "D", "retrievable", "text makes more queries retrievable"),
    ("D", "B", "accuracy", "the trained Image space beats row B's space"),
)


def draw_seeds(seed: int, draws: int) -> list[int]:
    """The ``draws`` target-draw seeds derived from ``seed`` (independent streams)."""
    check_interval("draws", draws, 1)
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(draws)]


def label_retrieval_draws(
    image, text, resnet, labels: Sequence, *, draws: int = 20, seed: int = 0, **options
) -> dict:
    """Rows A-F of Table 1 averaged over ``draws`` target draws.

    Parameters
    ----------
    image, text, resnet, labels
        As :func:`~textmanifold.evaluate.label_retrieval.label_retrieval_table`.
    draws : int
        Number of independent target draws (the seeds of :func:`draw_seeds`).
    seed : int
    **options
        Passed on (``n_way``, ``k_shot``, ``threshold`` or ``target_degree``, ...).

    Returns
    -------
    dict
        :func:`summarize_draws`'s result, plus ``seeds`` and ``per_draw`` (each draw's
        rows).
    """
    seeds = draw_seeds(seed, draws)
    per_draw = [
        label_retrieval_table(image, text, resnet, labels, seed=s, **options) for s in seeds
    ]
    return {**summarize_draws(per_draw), "seeds": seeds, "per_draw": per_draw}


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the finite values (NaN when undefined)."""
    v = np.array([float(x) for x in values if is_finite_number(x)])
    mean = float(v.mean()) if len(v) else math.nan
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) >= 2 else math.nan
    return mean, se


def summarize_draws(per_draw: Sequence[Sequence[dict]]) -> dict:
    """Aggregate the rows of several draws (each a list of Table 1 row dicts).

    Returns
    -------
    dict
        ``draws`` (int), ``rows`` (one dict per row key, in order: ``row``, ``method``,
        ``space``, ``accuracy_mean``, ``accuracy_se``, ``accuracy`` (= the mean, for
        readers of single-draw rows), ``retrievable_mean``, ``retrievable_se``,
        ``queries``, ``draws_defined``) and ``comparisons`` (``better``, ``worse``,
        ``quantity``, ``holds`` (draws where better > worse), ``draws`` (draws where
        both are defined), ``difference_mean``, ``difference_se``).
    """
    if not per_draw:
        raise InputError("summarize_draws: no draws")
    tables = [{r["row"]: r for r in rows} for rows in per_draw]
    keys = sorted(tables[0])
    rows = []
    for key in keys:
        first = tables[0][key]
        acc = [t[key]["accuracy"] for t in tables]
        mean, se = mean_se(acc)
        r_mean, r_se = mean_se([t[key]["retrievable"] for t in tables])
        rows.append(
            {
                "row": key,
                "method": first["method"],
                "space": first["space"],
                "accuracy_mean": mean,
                "accuracy_se": se,
                "accuracy": mean,
                "retrievable_mean": r_mean,
                "retrievable_se": r_se,
                "retrievable": r_mean,
                "queries": first["queries"],
                "draws_defined": int(sum(is_finite_number(a) for a in acc)),
            }
        )
    comparisons = []
    for better, worse, quantity, _ in COMPARISONS:
        if better not in tables[0] or worse not in tables[0]:
            continue
        pairs = [
            (t[better][quantity], t[worse][quantity])
            for t in tables
            if is_finite_number(t[better][quantity]) and is_finite_number(t[worse][quantity])
        ]
        diff_mean, diff_se = mean_se([a - b for a, b in pairs])
        comparisons.append(
            {
                "better": better,
                "worse": worse,
                "quantity": quantity,
                "holds": int(sum(a > b for a, b in pairs)),
                "draws": len(pairs),
                "difference_mean": diff_mean,
                "difference_se": diff_se,
            }
        )
    return {"draws": len(per_draw), "rows": rows, "comparisons": comparisons}
