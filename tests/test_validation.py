"""The shared validators against independent references (scipy csgraph, scikit-learn)."""

import numpy as np
import pytest
import scipy.sparse
import sklearn.exceptions
from scipy.sparse.csgraph import dijkstra
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted as sklearn_check_is_fitted

from _manifold_fixtures import sphere_points
from textmanifold.errors import InputError, TextManifoldError
from textmanifold.validation import (
    NotFittedError,
    check_graph,
    check_ids,
    check_interval,
    check_is_fitted,
    check_option,
    check_points,
    check_positive_int,
    check_unit_rows,
)

# ----------------------------------------------------------------------------- points


def test_check_points_returns_contiguous_copy_of_the_values():
    X = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]  # not contiguous
    out = check_points(X, dtype=np.float32)
    assert out.flags.c_contiguous and out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 2], [4, 6], [8, 10]])


@pytest.mark.parametrize(
    ("X", "kwargs", "message"),
    [
        (np.ones(3), {}, r"Q must be a non-empty 2-D array \(n, d\), got shape \(3,\)"),
        (np.ones((0, 3)), {}, r"Q must be a non-empty 2-D array \(n, d\), got shape \(0, 3\)"),
        (np.array([["a", "b"]]), {}, "Q must hold real numbers, got dtype <U1"),
        (np.ones((2, 2)) * 1j, {}, "Q must hold real numbers"),
        (np.array([[0.0, 1.0], [1.0, np.nan], [np.inf, 0]]), {}, "Q row 1 holds NaN or inf"),
        (np.ones((2, 3)), {"dim": 4}, "Q has dimension 3 but the model was fitted on 4"),
    ],
)
def test_check_points_names_the_array_and_the_row(X, kwargs, message):
    with pytest.raises(InputError, match=message):
        check_points(X, "Q", **kwargs)


def test_check_unit_rows_matches_sklearn_normalize():
    X = np.random.default_rng(0).normal(size=(20, 5)) * 7
    np.testing.assert_allclose(check_unit_rows(X, normalize=True), normalize(X), rtol=1e-6)
    unit = sphere_points(20, 5, 1)
    np.testing.assert_allclose(check_unit_rows(unit), unit, rtol=1e-6)


@pytest.mark.parametrize(
    ("row", "normalize_", "message"),
    [
        ([0.0, 0.0, 0.0], True, "X row 2 is a zero vector"),
        ([0.0, 2.0, 0.0], False, r"X row 2 is not unit norm \(norm 2\)"),
        ([0.0, np.nan, 0.0], True, "X row 2 holds NaN or inf"),
    ],
)
def test_check_unit_rows_names_the_first_bad_row(row, normalize_, message):
    X = sphere_points(5, 3, 2)
    X[2] = row
    with pytest.raises(InputError, match=message):
        check_unit_rows(X, normalize=normalize_)


# ----------------------------------------------------------------------------- counts


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_check_positive_int_accepts_integers(value):
    out = check_positive_int(value, "k")
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, True, "3", None, np.float64(4)])
def test_check_positive_int_refuses_everything_else(value):
    with pytest.raises(
        InputError,
        match=rf"batch_size must be a positive integer, got "
        rf"{repr(value).replace('(', '.').replace(')', '.')}",
    ):
        check_positive_int(value, "batch_size")


# ----------------------------------------------------------------------------- graphs


def _random_dense(n, seed):
    rng = np.random.default_rng(seed)
    upper = np.triu(np.where(rng.random((n, n)) < 0.3, rng.random((n, n)) + 0.1, 0.0), 1)
    return upper + upper.T


def test_dense_and_sparse_graphs_give_the_same_csr_and_scipy_distances():
    dense = _random_dense(12, 0)
    from_dense, from_sparse = check_graph(dense), check_graph(scipy.sparse.coo_matrix(dense))
    assert (from_dense != from_sparse).nnz == 0
    assert from_dense.dtype == np.float64 and from_dense.has_sorted_indices
    np.testing.assert_allclose(dijkstra(from_dense), dijkstra(dense))  # scipy's dense rule


def test_self_loops_are_dropped_and_distances_unchanged():
    dense = _random_dense(10, 1)
    looped = dense + np.diag(np.full(10, 0.5))
    sparse = scipy.sparse.csr_matrix(looped)
    checked = check_graph(sparse)
    assert checked.diagonal().tolist() == [0.0] * 10 and checked.nnz == np.count_nonzero(dense)
    np.testing.assert_allclose(dijkstra(checked), dijkstra(dense))
    assert sparse.diagonal().tolist() == [0.5] * 10  # the input is not modified


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ([[0, 1], [1, 0]], "graph must be a scipy sparse matrix or a 2-D array, got list"),
        (np.ones((2, 3)), r"graph must be square, got shape \(2, 3\)"),
        (scipy.sparse.csr_matrix((0, 0)), "graph is empty"),
        (scipy.sparse.csr_matrix(np.array([[0, np.nan], [1, 0]])), "graph holds NaN or inf"),
        (scipy.sparse.csr_matrix(np.array([[0, -1.0], [1, 0]])), "graph holds negative"),
    ],
)
def test_check_graph_refuses(graph, message):
    with pytest.raises(InputError, match=message):
        check_graph(graph)


# ----------------------------------------------------------------------------- fitted


class _Estimator(BaseEstimator):
    def fit(self, X, y=None):
        self.mean_ = np.mean(X)
        return self


def test_check_is_fitted_agrees_with_sklearn():
    for estimator in (_Estimator(), _Estimator().fit([1.0, 2.0])):
        try:
            sklearn_check_is_fitted(estimator)
            sklearn_fitted = True
        except sklearn.exceptions.NotFittedError:
            sklearn_fitted = False
        try:
            check_is_fitted(estimator)
            ours = True
        except NotFittedError:
            ours = False
        assert ours == sklearn_fitted
    assert ours  # the last one was fitted


def test_not_fitted_error_is_catchable_as_sklearn_users_expect():
    with pytest.raises(NotFittedError, match=r"_Estimator is not fitted; call fit\(X\) first"):
        check_is_fitted(_Estimator(), "mean_", fit_call="fit(X)")
    for base in (ValueError, AttributeError, TextManifoldError, InputError):
        assert issubclass(NotFittedError, base)


# ----------------------------------------------------------------------------- ids


def test_check_ids_returns_a_list():
    assert check_ids(("a", "b"), 2) == ["a", "b"]


@pytest.mark.parametrize(
    ("ids", "n_rows", "message"),
    [
        ("abc", 3, "x.ids.json must be a list of strings, got str"),
        (["a", 3], 2, r"x.ids.json\[1\] must be a non-empty string, got 3"),
        (["a", ""], 2, r"x.ids.json\[1\] must be a non-empty string"),
        (["a", "b"], 3, "x.ids.json holds 2 ids but there are 3 rows"),
        (["a", "b", "a", "a"], 4, "x.ids.json: id 'a' appears 3 times; ids must be unique"),
    ],
)
def test_check_ids_refuses(ids, n_rows, message):
    with pytest.raises(InputError, match=message):
        check_ids(ids, n_rows, name="x.ids.json")


# ----------------------------------------------------------------------------- options


def test_check_option_returns_the_value_and_names_the_choices():
    assert check_option("metric", "both", ("geodesic", "euclidean", "both")) == "both"
    with pytest.raises(
        InputError,
        match=r"^--metric must be one of geodesic, euclidean, "
        r"got 'cosine'$",
    ):
        check_option("--metric", "cosine", ["geodesic", "euclidean"])


@pytest.mark.parametrize(
    ("value", "low", "high", "kwargs", "message"),
    [
        (-1, 0, None, {}, "steps must be >= 0, got -1"),
        (0.0, 0, None, {"closed": "neither"}, "steps must be positive, got 0.0"),
        (
            1,
            2,
            None,
            {"why": "Eq. 1 needs negatives"},
            "steps must be >= 2 (Eq. 1 needs negatives), got 1",
        ),
        (5, None, 4, {"closed": "left"}, "steps must be < 4, got 5"),
        (
            0.0,
            0.0,
            np.pi,
            {"closed": "right", "labels": ("0", "pi"), "unit": "radians"},
            "steps must be in (0, pi] = (0, 3.14159] radians, got 0.0",
        ),
        (
            9,
            0,
            9,
            {"closed": "neither", "labels": ("0", "n - 1")},
            "steps must be in (0, n - 1) = (0, 9), got 9",
        ),
        (1.5, 0, 1, {}, "steps must be in [0, 1], got 1.5"),
        (float("nan"), 0, None, {}, "steps must be >= 0, got nan"),
        (True, 0, None, {}, "steps must be >= 0, got True"),
        ("3", 0, None, {}, "steps must be >= 0, got '3'"),
    ],
)
def test_check_interval_refuses_with_one_line(value, low, high, kwargs, message):
    with pytest.raises(InputError) as caught:
        check_interval("steps", value, low, high, **kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "closed"), [(0, "both"), (0, "left"), (1, "right"), (0.5, "neither"), (1, "both")]
)
def test_check_interval_keeps_the_ends_it_is_told_to(value, closed):
    assert check_interval("x", value, 0, 1, closed=closed) == value
    with pytest.raises(InputError, match="closed must be one of"):
        check_interval("x", value, 0, 1, closed="open")
