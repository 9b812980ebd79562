"""ICP alignment of the image cloud onto the text cloud (paper Algorithm 1).

Given source points ``psi_i`` (images) and target points ``phi_i`` (texts), find the
rotation ``R`` (d x d, orthogonal, det +1) and the map

    T(x) = R (x - mean_source) + mean_target

minimising ``sum_i ||T(psi_i) - phi_i||^2`` (orthogonal Procrustes / Kabsch): with
``H = (Psi - mean)^T (Phi - mean) = U S V^T``, ``R = V D U^T`` where
``D = diag(1, ..., 1, det(V U^T))`` turns a reflection into the best proper rotation.
The paper prints ``t = mean(Psi) - mean(Phi)``, a typo; the derivation is in
``docs/decisions/manifold-core.md``.

A rigid map keeps norms only about the origin; the translation moves points off the
unit sphere the graph lives on, so ``transform`` re-projects every row onto the sphere
(``normalize=True``, radial projection ``y / ||y||``).

``correspondence="paired"`` uses row ``i`` of source with row ``i`` of target (the paper:
"nearest points are given as the corresponding pairs", so one step suffices).
``"nearest"`` runs classic ICP on unpaired clouds: starting from the centroid-matching
translation, alternate exact nearest-neighbour correspondences (target point nearest to
each transformed source point) and a Kabsch step, until the mean squared residual drops
by less than ``tol`` or ``max_iter`` steps were taken.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..base import ParamsMixin
from ..errors import InputError
from ..validation import check_is_fitted, check_option, check_points, check_positive_int
from ._search import euclidean_kneighbors

CORRESPONDENCES = ("paired", "nearest")

# A mapped row shorter than this has no meaningful direction to project onto the sphere.
_ORIGIN_TOL = 1e-9


class ICPAligner(ParamsMixin):
    """Rigid alignment of a source cloud onto a target cloud, then back onto the sphere.

    Parameters
    ----------
    correspondence : {"paired", "nearest"}, default "paired"
        ``"paired"``: row i of source matches row i of target (one Kabsch step).
        ``"nearest"``: unpaired clouds, iterated nearest-neighbour correspondences.
    max_iter : int, default 50
        Most Kabsch steps for ``"nearest"``.
    tol : float, default 1e-8
        ``"nearest"`` stops when the mean squared residual decreases by less than this.
    normalize : bool, default True
        Re-project transformed rows onto the unit sphere.

    Attributes
    ----------
    rotation_ : ndarray of shape (d, d), float64
        Orthogonal with determinant +1; acts on column vectors, ``R @ x``.
    translation_ : ndarray of shape (d,), float64
        ``mean_target_ - rotation_ @ mean_source_``, so ``T(x) = R x + translation_``.
    mean_source_, mean_target_ : ndarray of shape (d,), float64
        Centroids of the (matched) source and target points.
    reflection_corrected_ : bool
        The unconstrained Procrustes solution was a reflection and was corrected.
    residual_ : float
        Mean squared distance between rigidly mapped source points (before the
        re-projection) and their correspondents.
    n_iter_ : int
        Kabsch steps taken (1 for ``"paired"``).
    n_features_in_ : int
        Width ``d`` of the points seen by ``fit``.
    correspondence_ : ndarray of shape (n_source,), int64
        Target row matched to each source row (the identity for ``"paired"``).
    """

    def __init__(
        self,
        correspondence: str = "paired",
        max_iter: int = 50,
        tol: float = 1e-8,
        normalize: bool = True,
    ):
        self.correspondence = correspondence
        self.max_iter = max_iter
        self.tol = tol
        self.normalize = normalize

    def fit(self, source: ArrayLike, target: ArrayLike) -> ICPAligner:
        """Learn the map from ``source`` (n_source, d) onto ``target`` (n_target, d)."""
        check_option("correspondence", self.correspondence, CORRESPONDENCES)
        source = check_points(source, "source", dtype=np.float64)
        target = check_points(target, "target", dim=source.shape[1], dtype=np.float64)
        if self.correspondence == "paired":
            if len(source) != len(target):
                raise InputError(
                    f"paired correspondence needs as many target rows ({len(target)}) "
                    f"as source rows ({len(source)})"
                )
            matched = np.arange(len(source))
            self._kabsch(source, target)
            self.n_iter_ = 1
        else:
            matched = self._iterate_nearest(source, target)
        self.correspondence_ = matched
        moved = self._rigid(source)
        self.residual_ = float(np.mean(np.sum((moved - target[matched]) ** 2, axis=1)))
        self.n_features_in_ = source.shape[1]
        return self

    def transform(self, X: ArrayLike) -> NDArray[np.floating]:
        """Apply ``T`` to ``X`` (n, d); rows re-projected onto the sphere if ``normalize``.

        Returns
        -------
        ndarray of shape (n, d)
            float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self, "rotation_", fit_call="fit(source, target)")
        X = np.asarray(X)
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        moved = self._rigid(check_points(X, "X", dim=len(self.rotation_), dtype=np.float64))
        if self.normalize:
            norms = np.linalg.norm(moved, axis=1)
            lost = norms < _ORIGIN_TOL
            if lost.any():
                raise InputError(
                    f"X row {int(np.argmax(lost))} maps to the origin and has no "
                    "direction on the sphere"
                )
            moved = moved / norms[:, None]
        return moved.astype(dtype)

    def fit_transform(self, source: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
        """``fit(source, target)`` then ``transform(source)``."""
        return self.fit(source, target).transform(source)

    def _rigid(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_source_) @ self.rotation_.T + self.mean_target_

    def _kabsch(self, source: np.ndarray, target: np.ndarray) -> None:
        """Best proper rotation for paired rows; sets rotation, means, translation."""
        mean_source, mean_target = source.mean(axis=0), target.mean(axis=0)
        cross = (source - mean_source).T @ (target - mean_target)  # Psi_hat^T Phi_hat
        u, _, vt = np.linalg.svd(cross)
        reflection = np.linalg.det(vt.T @ u.T) < 0
        if reflection:
            vt[-1] *= -1  # D = diag(1, ..., 1, -1) applied to V
        self.rotation_ = vt.T @ u.T
        self.reflection_corrected_ = bool(reflection)
        self.mean_source_, self.mean_target_ = mean_source, mean_target
        self.translation_ = mean_target - self.rotation_ @ mean_source

    def _iterate_nearest(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Classic ICP; returns the final correspondences (target row per source row)."""
        max_iter = check_positive_int(self.max_iter, "max_iter")
        d = source.shape[1]
        self.rotation_ = np.eye(d)
        self.mean_source_, self.mean_target_ = source.mean(axis=0), target.mean(axis=0)
        previous = np.inf
        for step in range(1, max_iter + 1):
            _, nearest = euclidean_kneighbors(self._rigid(source), target, 1, backend="numpy")
            matched = nearest[:, 0]
            self._kabsch(source, target[matched])
            self.n_iter_ = step
            residual = np.mean(np.sum((self._rigid(source) - target[matched]) ** 2, axis=1))
            if previous - residual < self.tol:
                break
            previous = residual
        return matched


def align_to_descriptions(
    image: ArrayLike,
    text: ArrayLike,
    descriptions: ArrayLike | None = None,
    *,
    correspondence: str = "paired",
) -> tuple[NDArray[np.floating], dict]:
    """Fit ICP from the image cloud onto the text cloud; return T(image) and a summary.

    Parameters
    ----------
    image : array-like of shape (n, d)
        Image embeddings Psi (unit rows).
    text : array-like of shape (m, d)
        Text embeddings Phi (unit rows).
    descriptions : array-like of shape (n,), int, optional
        Row of ``text`` holding each image's paired description. Needed for
        ``correspondence="paired"`` (the paper's setting); with ``"nearest"`` (unpaired
        ICP over every text row) it is only used to report the paired cosines.
    correspondence : {"paired", "nearest"}

    Returns
    -------
    aligned : ndarray of shape (n, d)
        T(Psi), re-projected onto the sphere.
    summary : dict
        ``paired_cosine_before`` / ``paired_cosine_after`` (mean cosine between an image
        and its description; None without ``descriptions``), ``residual`` (mean squared
        distance to the matched text rows), ``reflection_corrected``, ``n_iter``.
    """
    text = np.asarray(text)
    paired = None if descriptions is None else text[descriptions]  # (n, d)
    if correspondence == "paired":
        if paired is None:
            raise InputError("paired alignment needs each image's description row")
        aligner = ICPAligner(correspondence="paired").fit(image, paired)
    else:
        aligner = ICPAligner(correspondence=correspondence).fit(image, text)
    aligned = aligner.transform(image)

    def paired_cosine(X) -> float | None:
        if paired is None:
            return None
        return float(np.mean(np.sum(np.asarray(X, np.float64) * paired, axis=1)))

    return aligned, {
        "paired_cosine_before": paired_cosine(image),
        "paired_cosine_after": paired_cosine(aligned),
        "residual": aligner.residual_,
        "reflection_corrected": bool(aligner.reflection_corrected_),
        "n_iter": aligner.n_iter_,
    }
