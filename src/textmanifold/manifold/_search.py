"""Exact neighbour search shared by the manifold modules.

Backend choice, Euclidean k-NN, and the inner-product range search behind the sphere
graph (candidates from float32 products, then one canonical float64 score per pair; see
:mod:`.graph` for the rule). Two backends answer every search here exactly:
``"numpy"`` (blockwise BLAS products, bounded memory) and ``"faiss"`` (``IndexFlat*``,
multi-threaded). ``"auto"`` picks FAISS when it is installed. How a *graph* is built
(every pair, or candidates from k-means cells) is a separate choice, ``build``
(:func:`.graph.graph_build`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..validation import check_option, check_positive_int

BACKENDS = ("auto", "numpy", "faiss")

#: Rows per block of a blockwise product; a block of distances holds chunk_size**2 floats.
DEFAULT_CHUNK = 4096


def resolve_backend(backend: str) -> str:
    """Return ``"numpy"`` or ``"faiss"``: the exact search behind a user's backend choice.

    Parameters
    ----------
    backend : {"auto", "numpy", "faiss"}
        ``"auto"`` means FAISS when importable, else numpy.

    Raises
    ------
    InputError
        Another value, or ``"faiss"`` without the faiss-cpu package. The old spelling
        ``"approximate"`` (which chose a graph build, not a search) is refused with its
        new one, ``build="approximate"``.
    """
    if backend == "approximate":
        raise InputError(
            "backend='approximate' is now build='approximate'; backend chooses the exact "
            "search: one of 'auto', 'numpy', 'faiss'"
        )
    check_option("backend", backend, BACKENDS)
    if backend == "numpy":
        return "numpy"
    try:
        import faiss  # noqa: F401
    except ImportError as exc:
        if backend != "auto":
            raise InputError(f"backend={backend!r} needs the faiss-cpu package") from exc
        return "numpy"
    return "faiss"


def check_chunk_size(chunk_size) -> int:
    """Validate a block size (:func:`textmanifold.validation.check_positive_int`)."""
    return check_positive_int(chunk_size, "chunk_size")


def euclidean_kneighbors(
    Q: np.ndarray, X: np.ndarray, k: int, *, backend: str = "auto", chunk_size: int = DEFAULT_CHUNK
) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k`` nearest rows of ``X`` to each row of ``Q`` in Euclidean distance.

    Parameters
    ----------
    Q : ndarray of shape (n_q, d)
        Query points (validated by the caller: finite, same ``d`` as ``X``).
    X : ndarray of shape (n_x, d)
        Database points.
    k : int
        Neighbours per query; when ``k > n_x`` the extra columns are padded.
    backend : {"auto", "numpy", "faiss"}
        ``"numpy"`` works in float64; ``"faiss"`` in float32 (``IndexFlatL2``).

    Returns
    -------
    distances : ndarray of shape (n_q, k), float64
        Euclidean (not squared) distances, ascending; ``inf`` in padded columns.
    indices : ndarray of shape (n_q, k), int64
        Row indices into ``X``; ``-1`` in padded columns. Which of several equally
        distant rows is returned is up to the backend.
    """
    n_q, n_x = len(Q), len(X)
    k_found = min(k, n_x)
    if resolve_backend(backend) == "faiss":
        dist2, idx = _faiss_l2(Q, X, k_found)
    else:
        dist2, idx = _numpy_l2(Q, X, k_found, check_chunk_size(chunk_size))
    distances = np.full((n_q, k), np.inf)
    indices = np.full((n_q, k), -1, dtype=np.int64)
    distances[:, :k_found] = np.sqrt(np.maximum(dist2, 0.0))
    indices[:, :k_found] = idx
    return distances, indices


def _faiss_l2(Q: np.ndarray, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index = faiss.IndexFlatL2(X.shape[1])
    index.add(np.ascontiguousarray(X, dtype=np.float32))
    dist2, idx = index.search(np.ascontiguousarray(Q, dtype=np.float32), k)
    return dist2.astype(np.float64), idx.astype(np.int64)


def _numpy_l2(
    Q: np.ndarray, X: np.ndarray, k: int, chunk_size: int
) -> tuple[np.ndarray, np.ndarray]:
    X64 = np.asarray(X, dtype=np.float64)
    x_sq = np.einsum("ij,ij->i", X64, X64)
    out_d = np.empty((len(Q), k))
    out_i = np.empty((len(Q), k), dtype=np.int64)
    # One block holds chunk_size query rows against all of X; keep it near chunk_size**2.
    rows = max(1, chunk_size * chunk_size // max(len(X), 1))
    for start in range(0, len(Q), rows):
        q = np.asarray(Q[start : start + rows], dtype=np.float64)
        d2 = np.einsum("ij,ij->i", q, q)[:, None] - 2.0 * (q @ X64.T) + x_sq[None, :]
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(X) else None
        if part is None:
            part = np.broadcast_to(np.arange(len(X)), d2.shape).copy()
        cand = np.take_along_axis(d2, part, axis=1)
        # Sort by distance, then by index, so ties come out in index order.
        order = np.lexsort((part, cand), axis=1)
        out_i[start : start + rows] = np.take_along_axis(part, order, axis=1)
        out_d[start : start + rows] = np.take_along_axis(cand, order, axis=1)
    return out_d, out_i


def ordered_row_sums(products: np.ndarray) -> np.ndarray:
    """Row sums added one column at a time: the same rounding for a row in any batch."""
    sums = products[:, 0].copy()
    for k in range(1, products.shape[1]):
        sums += products[:, k]
    return sums


def row_norms(A: NDArray[np.floating]) -> NDArray[np.float64]:
    """Compute float64 norms of float32 rows by :func:`ordered_row_sums`.

    In blocks of rows, so the float64 temporaries stay small.

    Parameters
    ----------
    A : ndarray of shape (n, d)
        Rows (float32 as stored; any float dtype is cast).

    Returns
    -------
    ndarray of shape (n,), float64
        Each row's Euclidean norm, summed over dimensions in a fixed order.
    """
    out = np.empty(len(A))
    for start in range(0, len(A), 65_536):
        A64 = A[start : start + 65_536].astype(np.float64)
        out[start : start + len(A64)] = np.sqrt(ordered_row_sums(A64 * A64))
    return out


#: From this many pairs :func:`exact_inner` runs the compiled kernel: below it numpy's
#: float64 temporaries stay under 16 MiB at d = 128, and a process that only scores a
#: few pairs (a one-shot query) does not pay numba's ~0.7 s first load.
COMPILED_FROM_PAIRS = 16_384


def exact_inner(
    A: NDArray[np.floating],
    B: NDArray[np.floating],
    norm_a: NDArray[np.float64],
    norm_b: NDArray[np.float64],
    rows: NDArray[np.integer],
    cols: NDArray[np.integer],
) -> NDArray[np.float64]:
    """Compute the one canonical score: cosine of ``A[rows]`` and ``B[cols]`` in float64.

    Products of float32 values are exact in float64; adding them one dimension at a time
    fixes the rounding whatever the batch, so both backends and both orders of a pair
    agree to the last bit. Long pair lists run the compiled kernel
    :func:`._canonical.canonical_cosines`, short ones the same sum in numpy.

    Parameters
    ----------
    A, B : ndarray of shape (n_a, d), (n_b, d)
        float32 rows.
    norm_a, norm_b : ndarray of shape (n_a,), (n_b,), float64
        Their norms (:func:`row_norms`).
    rows, cols : ndarray of shape (m,), int
        The pairs to score: ``A[rows[i]]`` with ``B[cols[i]]``.

    Returns
    -------
    ndarray of shape (m,), float64
        The pairs' cosines (the edge rule compares them with ``cos(threshold)``).
    """
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"rows of dimension {A.shape[1]} and {B.shape[1]} cannot be scored")
    if len(rows) < COMPILED_FROM_PAIRS:
        # the same sum in numpy: for a query's few candidates, loading the kernel would
        # cost more than scoring (tested bit-equal to the kernel)
        products = A[rows].astype(np.float64) * B[cols].astype(np.float64)
        return ordered_row_sums(products) / (norm_a[rows] * norm_b[cols])
    from ._canonical import canonical_cosines

    A, B = np.asarray(A), np.asarray(B)  # a memory map is read in place
    return canonical_cosines(
        A,
        B,
        np.asarray(norm_a, np.float64),
        np.asarray(norm_b, np.float64),
        np.asarray(rows, np.int64),
        np.asarray(cols, np.int64),
    )


def passing_pairs(A, B, norm_a, norm_b, blocks, cos_t: float):
    """Keep the candidate pairs whose canonical score (:func:`exact_inner`) is ``> cos_t``.

    ``blocks`` yields ``(rows, cols)`` int64 arrays of candidate pairs (e.g. from float32
    products under a loosened bound). Returns rows, cols and their float64 scores,
    concatenated in the candidates' order.
    """
    out_r, out_c, out_s = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for rows, cols in blocks:
        scores = exact_inner(A, B, norm_a, norm_b, rows, cols)
        keep = scores > cos_t
        out_r.append(rows[keep])
        out_c.append(cols[keep])
        out_s.append(scores[keep])
    return tuple(np.concatenate(x) for x in (out_r, out_c, out_s))


def margin(d: int) -> float:
    """Bound on |float32 BLAS score - canonical score| for unit rows of dimension d.

    Parameters
    ----------
    d : int
        The rows' dimension.

    Returns
    -------
    float
        ``d * 2**-23 + 2**-20``: more than twice the worst-case float32 rounding of a
        ``d``-term dot product of unit vectors, so candidates found with the bound
        loosened by it miss no pair that passes the exact rule.
    """
    return d * 2.0**-23 + 2.0**-20


def pairs_above(
    A: np.ndarray, B: np.ndarray, cos_t: float, backend: str, chunk_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j)`` with canonical score ``> cos_t``; ``i < j`` only when A is B.

    Returns rows, cols (int64) and their float64 scores, sorted by (row, col).
    """
    same = A is B
    loose = cos_t - margin(A.shape[1])
    norm_a = row_norms(A)
    norm_b = norm_a if same else row_norms(B)
    if resolve_backend(backend) == "faiss":
        blocks = _faiss_candidates(A, B, loose, chunk_size, same)
    else:
        blocks = _numpy_candidates(A, B, loose, chunk_size, same)
    rows, cols, scores = passing_pairs(A, B, norm_a, norm_b, blocks, cos_t)
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], scores[order]


def _numpy_candidates(A, B, loose, chunk_size, same):
    """Blocks of candidate pairs from float32 tiles (upper triangle only when A is B)."""
    for a0 in range(0, len(A), chunk_size):
        a_block = A[a0 : a0 + chunk_size]
        for b0 in range(a0 if same else 0, len(B), chunk_size):
            rows, cols = np.nonzero(a_block @ B[b0 : b0 + chunk_size].T > loose)
            rows, cols = rows.astype(np.int64) + a0, cols.astype(np.int64) + b0
            if same and a0 == b0:
                upper = cols > rows
                rows, cols = rows[upper], cols[upper]
            yield rows, cols


def _faiss_candidates(A, B, loose, chunk_size, same):
    """Blocks of candidate pairs from FAISS ``range_search`` on inner product."""
    import faiss

    index = faiss.IndexFlatIP(B.shape[1])
    index.add(B)
    for a0 in range(0, len(A), chunk_size):
        lims, _, found = index.range_search(A[a0 : a0 + chunk_size], float(loose))
        counts = np.diff(lims).astype(np.int64)
        rows = np.repeat(np.arange(a0, a0 + len(counts), dtype=np.int64), counts)
        cols = found.astype(np.int64)
        if same:
            upper = cols > rows
            rows, cols = rows[upper], cols[upper]
        yield rows, cols
