"""Verdicts over training seeds: is an effect larger than what another training run moves?

float32 training is chaotic: another machine or thread count gives, in effect, another
training seed, and one seed's verdict can flip on a rerun. So every claim of the paper is
measured once per training seed (the data fixed) and summarised by :func:`over_seeds`:

- ``mean``: the mean of the per-seed values;
- ``se``: its standard error, ``sqrt(var / S + shared^2)`` where ``var`` is the sample
  variance over the ``S`` seeds and ``shared`` the root-mean-square of a per-seed
  standard error from noise that every seed shares (the same target draws, the same test
  queries), which averaging over seeds cannot remove: counted in full, a conservative
  choice;
- ``agree``: the seeds whose value has the sign of the mean.

:func:`verdict_word` turns an estimate into "reproduces" (mean above ``min_se`` standard
errors), "does not reproduce" (below minus that) or "cannot tell"; with fewer than two
seeds the spread is unknown and the answer is "cannot tell".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..validation import is_finite_number
from .label_draws import mean_se

__all__ = ["VERDICT_WORDS", "over_seeds", "seed_sentence", "verdict_word"]

VERDICT_WORDS = ("reproduces", "does not reproduce", "cannot tell")


def over_seeds(values: Sequence[float], shared_se: Sequence[float] | None = None) -> dict:
    """Mean, standard error and sign agreement of one quantity measured once per seed.

    Parameters
    ----------
    values : sequence of float, length S
        The quantity for each training seed (non-finite entries are left out).
    shared_se : sequence of float, length S, optional
        Each seed's standard error from noise all seeds share (see the module).

    Returns
    -------
    dict
        ``mean``, ``se`` (NaN with fewer than two finite values), ``seeds`` (finite
        values used), ``per_seed`` (the values as given), ``agree`` (seeds on the mean's
        side of zero).
    """
    v = np.array([float(x) for x in values if is_finite_number(x)])
    mean, se = mean_se(v)  # se: the seed spread alone, NaN below two values
    if is_finite_number(se):
        shared = [float(s) ** 2 for s in shared_se or [] if is_finite_number(s)]
        se = math.sqrt(se**2 + (float(np.mean(shared)) if shared else 0.0))
    side = np.sign(mean) if is_finite_number(mean) else 0.0
    return {
        "mean": mean,
        "se": se,
        "seeds": len(v),
        "per_seed": [float(x) if is_finite_number(x) else math.nan for x in values],
        "agree": int(np.sum(np.sign(v) == side)) if side else 0,
    }


def verdict_word(estimate: dict, min_se: float = 2.0, converged: bool = True) -> str:
    """One of :data:`VERDICT_WORDS` for an :func:`over_seeds` estimate of "better - worse".

    ``converged=False`` (a model behind the estimate stopped short of its plateau) gives
    "cannot tell" whatever the numbers: an untrained model says nothing about the method.
    """
    mean, se = estimate["mean"], estimate["se"]
    if not (converged and is_finite_number(mean) and is_finite_number(se)):
        return "cannot tell"
    if mean > min_se * se:
        return "reproduces"
    if mean < -min_se * se:
        return "does not reproduce"
    return "cannot tell"


def seed_sentence(claim: str, estimate: dict, unit: str = "", min_se: float = 2.0) -> str:
    """``<claim>: +0.031 +/- 0.012<unit> over 3 seeds (3 agree): reproduces``."""
    mean, se = estimate["mean"], estimate["se"]
    spread = f" +/- {se:.3f}" if is_finite_number(se) else " (no spread: one seed)"
    number = f"{mean:+.3f}" if is_finite_number(mean) else "undefined"
    converged = estimate.get("converged", True)
    short = "" if converged else ", a model short of its plateau"
    return (
        f"{claim}: {number}{spread}{unit} over {estimate['seeds']} seeds "
        f"({estimate['agree']} agree{short}): {verdict_word(estimate, min_se, converged)}"
    )
