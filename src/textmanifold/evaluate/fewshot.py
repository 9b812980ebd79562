"""N-way-k-shot target sets for label retrieval (paper Sec. 4.3).

The database (target set) holds ``k`` labelled images of each of ``N`` classes, so the
label information is spread evenly over the manifold; every other image of those
classes is a query. Classes with fewer than ``k`` images are excluded from the task
entirely (neither targets nor queries).

A multi-label image (Open Images) is assigned to one class for sampling, its most
significant label (``sampling_labels``), but is judged on its whole label set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from ..validation import check_positive_int

_COLLECTIONS = (set, frozenset, list, tuple)


class FewShotSplit(NamedTuple):
    """The images of an N-way-k-shot task.

    Attributes
    ----------
    targets : ndarray of int64, shape (n_way * k_shot,)
        Image indices of the labelled database, grouped by class in ``classes`` order.
    queries : ndarray of int64, shape (n_queries,)
        Image indices of the queries: the other images of the chosen classes, ascending.
    classes : list
        The chosen classes, sorted by ``str``.
    """

    targets: np.ndarray
    queries: np.ndarray
    classes: list


def sample_targets(labels: Sequence, n_way: int | None, k_shot: int, seed: int = 0) -> FewShotSplit:
    """Draw an N-way-k-shot target set; the rest of the chosen classes are queries.

    Parameters
    ----------
    labels : sequence of hashable, length n_images
        One class per image (for multi-label data, its primary label; see
        :func:`primary_labels`).
    n_way : int or None
        Classes in the task, drawn uniformly among the classes with at least ``k_shot``
        images; None takes them all.
    k_shot : int
        Targets per class, drawn uniformly within the class.
    seed : int
        Seeds a :class:`numpy.random.Generator`; the same seed gives the same split.

    Returns
    -------
    FewShotSplit

    Raises
    ------
    InputError
        Empty or unhashable labels, ``k_shot < 1``, ``n_way < 1``, or ``n_way`` larger
        than the number of classes with at least ``k_shot`` images.
    """
    labels = list(labels)
    if not labels:
        raise InputError("sample_targets: no labels (empty image set)")
    k_shot = check_positive_int(k_shot, "k_shot")
    members: dict = {}
    for i, label in enumerate(labels):
        if label is None or isinstance(label, _COLLECTIONS):
            raise InputError(
                f"sample_targets: image {i} has label {label!r}; give one class per image "
                "(for multi-label data its primary label)"
            )
        members.setdefault(label, []).append(i)
    eligible = sorted((c for c, idx in members.items() if len(idx) >= k_shot), key=str)
    if n_way is None:
        if not eligible:
            largest = max(len(idx) for idx in members.values())
            raise InputError(
                f"sample_targets: k_shot={k_shot} but no class has that many "
                f"images (the largest has {largest})"
            )
        n_way = len(eligible)
    n_way = check_positive_int(n_way, "n_way")
    if n_way > len(eligible):
        raise InputError(
            f"sample_targets: n_way={n_way} but only {len(eligible)} of {len(members)} "
            f"classes have at least k_shot={k_shot} images"
        )
    rng = np.random.default_rng(seed)
    chosen = [eligible[i] for i in np.sort(rng.choice(len(eligible), n_way, replace=False))]
    targets, queries = [], []
    for label in chosen:
        pool = np.asarray(members[label])
        picked = rng.choice(len(pool), k_shot, replace=False)
        targets.append(pool[np.sort(picked)])
        queries.append(np.delete(pool, picked))
    return FewShotSplit(
        np.concatenate(targets).astype(np.int64),
        np.sort(np.concatenate(queries)).astype(np.int64),
        chosen,
    )


def label_sets(labels: Sequence) -> list[frozenset]:
    """Each image's labels as a frozenset (a scalar label ``a`` becomes ``{a}``).

    Raises
    ------
    InputError
        If an image has no label, or a label is None.
    """
    out = []
    for i, label in enumerate(labels):
        try:
            parts = frozenset(label) if isinstance(label, _COLLECTIONS) else frozenset([label])
        except TypeError:
            raise InputError(f"image {i}: label {label!r} is not hashable") from None
        if not parts or None in parts:
            raise InputError(f"image {i} has no label")
        out.append(parts)
    return out


def primary_labels(sets: Sequence[frozenset], sampling_labels: Sequence | None = None) -> list:
    """The class each image is sampled under.

    Parameters
    ----------
    sets : sequence of frozenset
        Every image's labels (:func:`label_sets`).
    sampling_labels : sequence, optional
        One label per image, each among that image's labels. Without it every image
        must carry exactly one label.

    Raises
    ------
    InputError
        Lengths differ, a sampling label is not among the image's labels, or an image
        has several labels and no sampling label was given.
    """
    if sampling_labels is None:
        for i, labels in enumerate(sets):
            if len(labels) != 1:
                raise InputError(
                    f"image {i} has {len(labels)} labels {sorted(labels, key=str)}; "
                    "multi-label data needs sampling_labels (one primary label per image)"
                )
        return [next(iter(labels)) for labels in sets]
    sampling_labels = list(sampling_labels)
    if len(sampling_labels) != len(sets):
        raise InputError(
            f"sampling_labels holds {len(sampling_labels)} labels for {len(sets)} images"
        )
    for i, (label, labels) in enumerate(zip(sampling_labels, sets, strict=True)):
        if isinstance(label, _COLLECTIONS) or label not in labels:
            raise InputError(
                f"image {i}: sampling label {label!r} is not among its labels "
                f"{sorted(labels, key=str)}"
            )
    return sampling_labels
