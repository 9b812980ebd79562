"""Checkers for array inputs: points, unit rows and graphs.

Imported from :mod:`textmanifold.validation`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ..errors import InputError

__all__ = ["UNIT_NORM_TOL", "check_graph", "check_points", "check_unit_rows"]

#: Rows whose norm differs from 1 by more than this are not on the unit sphere.
UNIT_NORM_TOL = 1e-3

# Rows of X checked at once by check_unit_rows (float64 copies of one block, never of X:
# 4M x 128 float32 rows fit in memory, their float64 copy beside them would not).
_CHECK_ROWS = 65_536


def check_points(X, name: str = "X", dim: int | None = None, dtype=np.float32) -> np.ndarray:
    """Validate a non-empty, finite, real ``(n, d)`` array.

    Parameters
    ----------
    X : array-like of shape (n, d)
        The points.
    name : str, default "X"
        How the messages call the array.
    dim : int, optional
        The width ``X`` must have (a fitted model's, or another array's).
    dtype : numpy dtype, default float32
        The dtype of the returned array.

    Returns
    -------
    ndarray of shape (n, d)
        ``X`` as a C-contiguous array of ``dtype``.

    Raises
    ------
    InputError
        Not 2-D, empty, non-numeric or complex, a row with NaN / inf (the first is named),
        or a width other than ``dim``.
    """
    X = _check_real_matrix(X, name)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise InputError(f"{name} row {int(np.argmax(bad))} holds NaN or inf")
    if dim is not None and X.shape[1] != dim:
        raise InputError(f"{name} has dimension {X.shape[1]} but the model was fitted on {dim}")
    return np.ascontiguousarray(X, dtype=dtype)


def _check_real_matrix(X, name: str) -> np.ndarray:
    """``X`` as an array, refused unless it is a non-empty 2-D array of real numbers."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"{name} must be a non-empty 2-D array (n, d), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise InputError(f"{name} must hold real numbers, got dtype {X.dtype}")
    return X


def check_unit_rows(
    X, *, normalize: bool = False, name: str = "X", copy: bool = True
) -> np.ndarray:
    """Validate points on the unit sphere (:func:`check_points`, then the row norms).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Rows of unit L2 norm (within :data:`UNIT_NORM_TOL`).
    normalize : bool, default False
        Accept rows of any non-zero norm (opt-in). Zero rows are refused either way.
    name : str, default "X"
        How the messages call the array.
    copy : bool, default True
        ``False``: only check (no output array is allocated, so a memory-mapped file is
        read block by block and never held in memory twice); ``X`` itself is returned.

    Returns
    -------
    ndarray of shape (n, d), float32
        The rows divided by their float64 norm, C-contiguous (``X`` when ``copy=False``).

    Raises
    ------
    InputError
        As :func:`check_points`, or naming the first zero row or row off the sphere.
    """
    X = _check_real_matrix(X, name)
    out = np.empty(X.shape, dtype=np.float32) if copy else None
    for start in range(0, len(X), _CHECK_ROWS):  # float64 one block at a time: memory O(n d)
        block = X[start : start + _CHECK_ROWS].astype(np.float64)
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise InputError(f"{name} row {start + int(np.argmax(bad))} holds NaN or inf")
        norms = np.linalg.norm(block, axis=1)
        if (norms == 0).any():
            raise InputError(f"{name} row {start + int(np.argmax(norms == 0))} is a zero vector")
        off = np.abs(norms - 1.0) > UNIT_NORM_TOL
        if not normalize and off.any():
            row = int(np.argmax(off))
            raise InputError(
                f"{name} row {start + row} is not unit norm "
                f"(norm {norms[row]:.6g}); "
                "L2-normalise the rows or pass normalize=True"
            )
        if out is not None:
            out[start : start + len(block)] = block / norms[:, None]
    return X if out is None else out


def check_graph(graph, name: str = "graph") -> scipy.sparse.csr_matrix:
    """Validate a weighted graph; return it as canonical CSR float64 without self loops.

    One rule for every graph input: a scipy sparse matrix or a dense 2-D array is
    accepted (in a dense array, as in scipy's csgraph, 0 means "no edge"); a sparse
    matrix's stored entries are its edges. Self loops are dropped: a shortest path never
    uses one, and no function here gives them a meaning.

    Parameters
    ----------
    graph : scipy sparse matrix or ndarray of shape (n, n)
        Edge lengths, finite and >= 0.
    name : str, default "graph"
        How the messages call the graph.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64
        A new matrix (the input is never modified), indices sorted, duplicates summed.

    Raises
    ------
    InputError
        Not a matrix, not square, no vertex, or a NaN / inf / negative edge length.
    """
    if isinstance(graph, np.ndarray) and graph.ndim == 2 and np.issubdtype(graph.dtype, np.number):
        graph = scipy.sparse.csr_matrix(graph)
    if not scipy.sparse.issparse(graph):
        raise InputError(
            f"{name} must be a scipy sparse matrix or a 2-D array, got {type(graph).__name__}"
        )
    if graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise InputError(f"{name} must be square, got shape {graph.shape}")
    if graph.shape[0] == 0:
        raise InputError(f"{name} is empty (no vertices)")
    if np.iscomplexobj(graph.data) or not np.issubdtype(graph.dtype, np.number):
        raise InputError(f"{name} must hold real edge lengths, got dtype {graph.dtype}")
    if graph.format in ("csr", "csc"):
        _check_compressed_structure(graph, name)
    coo = scipy.sparse.coo_matrix(graph)
    data = coo.data.astype(np.float64)
    if not np.isfinite(data).all():
        raise InputError(f"{name} holds NaN or inf edge lengths")
    if (data < 0).any():
        raise InputError(f"{name} holds negative edge lengths")
    keep = coo.row != coo.col
    out = scipy.sparse.csr_matrix((data[keep], (coo.row[keep], coo.col[keep])), shape=graph.shape)
    out.sum_duplicates()
    out.sort_indices()
    return out


def _check_compressed_structure(graph, name: str) -> None:
    """CSR / CSC index arrays that describe a matrix of ``graph.shape``, in O(n + nnz).

    scipy builds a compressed matrix from a file without this full check, and a column
    index past the last vertex would otherwise surface as a crash or a wrong path later.
    """
    n_major = graph.shape[0] if graph.format == "csr" else graph.shape[1]
    n_minor = graph.shape[1] if graph.format == "csr" else graph.shape[0]
    indptr, indices = np.asarray(graph.indptr), np.asarray(graph.indices)
    if indptr.ndim != 1 or len(indptr) != n_major + 1:
        raise InputError(f"{name}: indptr has {len(indptr)} entries, expected {n_major + 1}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or len(indices) != len(graph.data):
        raise InputError(f"{name}: indptr does not span the {len(graph.data)} stored edges")
    if (np.diff(indptr) < 0).any():
        raise InputError(f"{name}: indptr is not non-decreasing")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_minor):
        bad = int(np.argmax((indices < 0) | (indices >= n_minor)))
        raise InputError(
            f"{name}: stored edge {bad} points to vertex {int(indices[bad])}, "
            f"outside 0..{n_minor - 1}"
        )
