"""The estimators follow scikit-learn's parameter protocol: clone, get/set_params, repr,
n_features_in_; n_neighbors is read at query time by both classifiers."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from _manifold_fixtures import sphere_points
from textmanifold.errors import InputError
from textmanifold.manifold import EuclideanKNNClassifier, GeodesicKNNClassifier, ICPAligner

ESTIMATORS = [
    ICPAligner(correspondence="nearest", max_iter=7),
    EuclideanKNNClassifier(n_neighbors=3, backend="numpy"),
    GeodesicKNNClassifier(n_neighbors=2, threshold=0.4, backend="numpy"),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_round_trip(estimator):
    copy = clone(estimator)
    assert type(copy) is type(estimator) and copy is not estimator
    assert copy.get_params() == estimator.get_params()
    assert repr(copy) == repr(estimator)


def test_get_set_params_and_repr():
    model = GeodesicKNNClassifier(n_neighbors=2, threshold=0.4)
    assert model.get_params() == {
        "n_neighbors": 2,
        "threshold": 0.4,
        "target_degree": None,
        "backend": "auto",
        "build": "auto",
    }
    assert repr(model) == "GeodesicKNNClassifier(n_neighbors=2, threshold=0.4)"
    assert model.set_params(threshold=0.5) is model and model.threshold == 0.5
    assert repr(ICPAligner()) == "ICPAligner()"
    with pytest.raises(
        InputError,
        match="has no parameter 'k'; its parameters are: "
        "n_neighbors, threshold, target_degree, backend, build",
    ):
        model.set_params(k=3)


def test_n_features_in():
    X = sphere_points(30, 5, 0)
    labels = [i % 3 for i in range(30)]
    assert EuclideanKNNClassifier().fit(X, labels).n_features_in_ == 5
    assert GeodesicKNNClassifier(threshold=0.9).fit(X, labels).n_features_in_ == 5
    assert ICPAligner().fit(X, X).n_features_in_ == 5


def test_euclidean_n_neighbors_set_after_fit_matches_sklearn():
    X, Q = sphere_points(40, 4, 1), sphere_points(10, 4, 2)
    model = EuclideanKNNClassifier(n_neighbors=1, backend="numpy").fit(X, list(range(40)))
    model.set_params(n_neighbors=4)
    dist, idx = model.kneighbors(Q)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Q)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5)


@pytest.mark.parametrize(("fitted_k", "query_k"), [(1, 3), (4, 2)])
def test_geodesic_n_neighbors_set_after_fit_equals_a_fresh_fit(fitted_k, query_k):
    X, aux, Q = sphere_points(50, 3, 3), sphere_points(120, 3, 4), sphere_points(20, 3, 5)
    labels = list(range(50))
    model = GeodesicKNNClassifier(n_neighbors=fitted_k, threshold=0.35).fit(X, labels, aux)
    model.set_params(n_neighbors=query_k)
    fresh = GeodesicKNNClassifier(n_neighbors=query_k, threshold=0.35).fit(X, labels, aux)
    got, expected = model.kneighbors(Q), fresh.kneighbors(Q)
    assert got[1].shape == (20, query_k)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[0], expected[0])
    assert (got[1][:, 0] >= 0).sum() > 5  # the graph reaches targets (non-trivial case)
