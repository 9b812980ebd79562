"""ICP alignment against scipy's orthogonal Procrustes, Kabsch, and planted rotations."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from _manifold_fixtures import sphere_points
from textmanifold.errors import InputError
from textmanifold.manifold import ICPAligner


def random_orthogonal(d, seed, det=1.0):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    q = q * np.sign(np.diag(r))
    if np.sign(np.linalg.det(q)) != det:
        q[:, 0] *= -1
    return q


def test_paired_recovers_a_planted_rotation_and_translation():
    source = sphere_points(200, 16, 0)
    R, shift = random_orthogonal(16, 1), np.random.default_rng(2).normal(size=16) * 0.1
    target = source @ R.T + shift
    icp = ICPAligner(normalize=False).fit(source, target)
    np.testing.assert_allclose(icp.rotation_, R, atol=1e-10)
    np.testing.assert_allclose(icp.translation_, shift, atol=1e-10)
    np.testing.assert_allclose(icp.transform(source), target, atol=1e-10)
    assert not icp.reflection_corrected_ and icp.n_iter_ == 1
    assert icp.residual_ < 1e-20


def test_paired_equals_orthogonal_procrustes_on_noisy_pairs():
    rng = np.random.default_rng(3)
    source = sphere_points(300, 8, 4)
    target = source @ random_orthogonal(8, 5).T + 0.05 * rng.normal(size=(300, 8)) + 0.2
    icp = ICPAligner(normalize=False).fit(source, target)
    omega, _ = orthogonal_procrustes(source - source.mean(0), target - target.mean(0))
    assert np.linalg.det(omega) > 0  # so the unconstrained optimum is the proper one
    np.testing.assert_allclose(icp.rotation_, omega.T, atol=1e-10)
    # The translation maps the source centroid onto the target centroid (not the paper's
    # printed t = mean(source) - mean(target)).
    np.testing.assert_allclose(icp.transform(source.mean(0, keepdims=True))[0], target.mean(0))


def test_reflection_is_turned_into_the_best_proper_rotation():
    rng = np.random.default_rng(6)
    source = sphere_points(100, 3, 7)
    mirror = random_orthogonal(3, 8, det=-1.0)
    target = source @ mirror.T + 0.01 * rng.normal(size=(100, 3))
    icp = ICPAligner(normalize=False).fit(source, target)
    omega, _ = orthogonal_procrustes(source - source.mean(0), target - target.mean(0))
    assert np.linalg.det(omega) < 0  # Procrustes alone would return a reflection
    assert icp.reflection_corrected_
    np.testing.assert_allclose(icp.rotation_ @ icp.rotation_.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(icp.rotation_) == pytest.approx(1.0)
    # Independent Kabsch: scipy's optimal proper rotation of the centred clouds.
    kabsch, _ = Rotation.align_vectors(target - target.mean(0), source - source.mean(0))
    np.testing.assert_allclose(icp.rotation_, kabsch.as_matrix(), atol=1e-8)


def test_transform_renormalises_onto_the_sphere():
    source, target = sphere_points(50, 5, 9), sphere_points(50, 5, 10) + 0.3
    icp = ICPAligner().fit(source, target)
    moved = icp.transform(source.astype(np.float32))
    assert moved.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-6)
    rigid = ICPAligner(normalize=False).fit(source, target).transform(source)
    np.testing.assert_allclose(
        moved, rigid / np.linalg.norm(rigid, axis=1, keepdims=True), atol=1e-6
    )
    np.testing.assert_allclose(icp.fit_transform(source, target), moved, atol=1e-6)


def test_nearest_recovers_a_small_rotation_of_an_unpaired_cloud():
    source = sphere_points(400, 3, 11)
    R = Rotation.from_rotvec([0.05, -0.08, 0.06]).as_matrix()  # about 6 degrees
    permutation = np.random.default_rng(12).permutation(400)
    target = (source @ R.T)[permutation]
    icp = ICPAligner(correspondence="nearest", normalize=False).fit(source, target)
    np.testing.assert_allclose(icp.rotation_, R, atol=1e-10)
    assert np.array_equal(permutation[icp.correspondence_], np.arange(400))
    assert 1 < icp.n_iter_ < 50 and icp.residual_ < 1e-20
    # Paired ICP on the shuffled rows would fit nonsense: the correspondences matter.
    assert ICPAligner(normalize=False).fit(source, target).residual_ > 0.1


@pytest.mark.parametrize(
    ("kwargs", "source", "target", "message"),
    [
        ({}, np.ones((5, 3)), np.ones((4, 3)), r"as many target rows \(4\) as source rows \(5\)"),
        ({}, np.ones((5, 3)), np.ones((5, 4)), "target has dimension 4"),
        ({}, np.zeros((0, 3)), np.ones((5, 3)), "source must be a non-empty"),
        ({}, np.full((5, 3), np.nan), np.ones((5, 3)), "source row 0 holds NaN"),
        ({"correspondence": "closest"}, np.ones((5, 3)), np.ones((5, 3)), "correspondence"),
        ({"correspondence": "nearest", "max_iter": 0}, np.eye(3), np.eye(3), "max_iter"),
    ],
)
def test_bad_input(kwargs, source, target, message):
    with pytest.raises(InputError, match=message):
        ICPAligner(**kwargs).fit(source, target)


def test_transform_bad_input():
    with pytest.raises(InputError, match="not fitted"):
        ICPAligner().transform(np.ones((2, 3)))
    source, target = sphere_points(20, 3, 13), sphere_points(20, 3, 14) + 0.5
    icp = ICPAligner().fit(source, target)
    with pytest.raises(InputError, match="dimension 4"):
        icp.transform(np.ones((2, 4)))
    to_origin = icp.mean_source_ - icp.rotation_.T @ icp.mean_target_  # T(x) = 0
    with pytest.raises(InputError, match="X row 1 maps to the origin"):
        icp.transform(np.vstack([source[:1], to_origin]))


def test_align_to_descriptions_pairs_each_image_with_its_description_row():
    from textmanifold.manifold import align_to_descriptions

    image = sphere_points(120, 8, 10)
    rotated = image @ random_orthogonal(8, 11).T
    extra = sphere_points(30, 8, 12)  # text-only rows, unpaired
    order = np.random.default_rng(13).permutation(150)
    text = np.vstack([rotated, extra])[order]  # descriptions shuffled among the text rows
    rows = np.argsort(order)[:120]  # where each image's description went
    aligned, summary = align_to_descriptions(image, text, rows)
    omega, _ = orthogonal_procrustes(image - image.mean(0), rotated - rotated.mean(0))
    expected = (image - image.mean(0)) @ omega + rotated.mean(0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(aligned, expected, atol=1e-10)
    assert summary["paired_cosine_after"] == pytest.approx(1.0, abs=1e-10)
    assert summary["paired_cosine_before"] == pytest.approx(
        np.mean(np.sum(image * rotated, axis=1))
    )
    with pytest.raises(InputError, match="description row"):
        align_to_descriptions(image, text, None)


def test_description_rows_and_row_ids():
    from textmanifold.collection import description_id, description_rows, item_id_of_row

    assert description_id("a") == "text:a"
    assert [item_id_of_row(i) for i in ["text:a", "a", "txt-1"]] == ["a", "a", "txt-1"]
    rows = description_rows(["a", "b"], ["t0", "text:b", "text:a"])
    assert rows.tolist() == [2, 1]
    with pytest.raises(InputError, match="'text:c' for image 'c' \\(1 of 2 missing\\)"):
        description_rows(["a", "c"], ["text:a"], "f.npy")
