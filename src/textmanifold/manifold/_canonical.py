"""The canonical score of a pair, compiled: the one definition every edge rule applies.

A float32 product of two coordinates is exact in float64; adding those products one
dimension at a time, in order, fixes the rounding, so a pair's score does not depend on
the batch it is scored in, the backend that found it, or the order of its two ends.
No ``fastmath`` here: reassociating the sum would change the last bit.

Compiled with numba (``cache=True``, ``nogil=True``, as :mod:`._klabel`) because the
candidate lists of the large builds run to tens of millions of pairs, and a numpy
version needs float64 temporaries of ``pairs x d``. :func:`._search.exact_inner` is its
public face; import this module only where a score is needed, as importing numba takes
about 0.2 s.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["canonical_cosines"]


@njit(cache=True, nogil=True)
def canonical_cosines(A, B, norm_a, norm_b, rows, cols):  # pragma: no cover (compiled)
    """Cosines of ``A[rows[p]]`` and ``B[cols[p]]``: float64, summed in dimension order.

    Shapes: A (n_a, d), B (n_b, d), norm_a (n_a,), norm_b (n_b,), rows / cols (m,);
    returns (m,) float64.
    """
    out = np.empty(len(rows))
    d = A.shape[1]
    for p in range(len(rows)):
        a, b = rows[p], cols[p]
        s = np.float64(A[a, 0]) * np.float64(B[b, 0])
        for k in range(1, d):
            s += np.float64(A[a, k]) * np.float64(B[b, k])
        out[p] = s / (norm_a[a] * norm_b[b])
    return out
