"""One sentence per table: does the paper's effect show in *these* numbers?

Every sentence is computed from the rows (never written in advance); a tie counts as
"not better". Rows are those of :mod:`textmanifold.evaluate.report`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..validation import is_finite_number
from .label_draws import COMPARISONS


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def _tally(hits: int, total: int) -> str:
    if hits == total:
        return "reproduces here"
    if hits == 0:
        return "does not reproduce here"
    return f"reproduces here only in part ({hits} of {total})"


def label_retrieval_verdict(rows: Sequence[dict]) -> str:
    """One sentence: geodesic vs Euclidean (D vs C, F vs E), text adds retrievable (F vs D)."""
    by = {r["row"]: r for r in rows}
    missing = [k for k in "CDEF" if k not in by]
    if missing:
        return f"Rows {', '.join(missing)} are missing, so the comparison cannot be made."
    c, d, e, f = (by[k] for k in "CDEF")
    checks = [
        d["accuracy"] > c["accuracy"],
        f["accuracy"] > e["accuracy"],
        f["retrievable"] > d["retrievable"],
    ]
    word = ("beats", "does not beat")
    text = (
        f"Geodesic retrieval {word[not checks[0]]} Euclidean on the same retrievable points "
        f"in Image (D {_fmt(d['accuracy'])} vs C {_fmt(c['accuracy'])}) and "
        f"{word[not checks[1]]} it in Joint (F {_fmt(f['accuracy'])} vs E "
        f"{_fmt(e['accuracy'])}), and text {('adds', 'does not add')[not checks[2]]} "
        f"retrievable images (F {int(f['retrievable'])} vs D {int(d['retrievable'])})"
    )
    b = by.get("B")
    if b is not None and is_finite_number(b.get("accuracy")):
        checks.append(d["accuracy"] > b["accuracy"])
        text += (
            f"; the trained Image space {word[not checks[3]]} the pretrained one at equal "
            f"retrievable points (D {_fmt(d['accuracy'])} vs B {_fmt(b['accuracy'])})"
        )
    return f"{text}: the paper's effect {_tally(sum(checks), len(checks))}."


def label_sweep_verdict(rows: Sequence[dict]) -> str:
    """One sentence: at how many thresholds D > C, F > E and text adds retrievable images."""
    image = [r for r in rows if is_finite_number(r["C"]) and is_finite_number(r["D"])]
    joint = [r for r in rows if is_finite_number(r["E"]) and is_finite_number(r["F"])]
    n = len(rows)
    return (
        f"Over {n} thresholds, geodesic beats Euclidean in Image at "
        f"{sum(r['D'] > r['C'] for r in image)} of the {len(image)} with retrievable "
        f"queries and in Joint at {sum(r['F'] > r['E'] for r in joint)} of {len(joint)}; "
        f"text adds retrievable images at "
        f"{sum(r['joint_retrievable'] > r['image_retrievable'] for r in rows)} of {n}."
    )


def smooth_paths_verdict(rows: Sequence[dict]) -> str:
    """One sentence: does image + text give more smooth paths than image + random, and image?"""
    if not rows:
        return "No thresholds were evaluated."
    over_random = sum(r["image_text"] > r["image_random"] for r in rows)
    over_image = sum(r["image_text"] > r["image"] for r in rows)
    n = len(rows)
    return (
        f"Adding text gives more smooth paths than adding as many random points at "
        f"{over_random} of {n} thresholds, and more than the images alone at {over_image} "
        f"of {n}: the paper's effect (text > random at every threshold) "
        f"{_tally(over_random, n)}."
    )


def recall_difference_in_se(before: float, after: float, queries: int) -> float:
    """``after - before`` in standard errors of two R@1 estimates on ``queries`` each.

    Treats the two as independent binomial proportions, which over-states the noise of
    a paired comparison (the same queries): a conservative yardstick.
    """
    variance = (before * (1 - before) + after * (1 - after)) / queries
    if variance == 0:  # both 0 or 1: any change at all is certain
        return 0.0 if after == before else math.copysign(math.inf, after - before)
    return (after - before) / math.sqrt(variance)


def composed_verdict(rows: Sequence[dict], min_se: float = 2.0) -> str:
    """One sentence: does composing in the joint space raise R@1 for each compositor?

    When the rows give their number of ``queries``, a rise counts only if it exceeds
    ``min_se`` standard errors (:func:`recall_difference_in_se`), and every difference
    is reported with its size in standard errors.
    """
    plain = {r["method"]: r for r in rows if not r["in_joint"]}
    joint = {r["method"]: r for r in rows if r["in_joint"]}
    methods = [m for m in plain if m in joint]
    if not methods:
        return "No compositor was run both plain and in Joint, so no comparison is possible."
    parts, hits = [], 0
    for m in methods:
        before, after = plain[m]["R@1"], joint[m]["R@1"]
        queries = plain[m].get("queries")
        se = recall_difference_in_se(before, after, queries) if queries else None
        up = after > before and (se is None or se > min_se)
        hits += up
        verb = "raises" if after > before else ("leaves" if after == before else "lowers")
        tail = " unchanged" if after == before else ""
        noise = ""
        if se is not None and after != before:
            beyond = "beyond noise" if abs(se) > min_se else "within noise"
            noise = f", {abs(se):.1f} standard errors: {beyond}"
        parts.append(f"{verb} R@1 for {m}{tail} ({_fmt(before)} -> {_fmt(after)}{noise})")
    return (
        f"Composing in the joint space {' and '.join(parts)}: the paper's effect "
        f"{_tally(hits, len(methods))}."
    )


# ----------------------------------------------------------------------------- estimates

_CLAIMS = {(better, worse): claim for better, worse, _, claim in COMPARISONS}


def label_draws_verdict(estimate: dict, min_se: float = 2.0) -> str:
    """One sentence over target draws: each comparison's mean paired difference, its
    standard error and the draws where it holds; it counts when the mean exceeds
    ``min_se`` standard errors (a zero SE: when it is positive)."""
    comparisons = estimate.get("comparisons", [])
    if not comparisons:
        return "No comparison between rows could be made."
    parts, hits = [], 0
    for c in comparisons:
        diff, se = c["difference_mean"], c["difference_se"]
        if not is_finite_number(diff):
            parts.append(f"{_CLAIMS.get((c['better'], c['worse']), 'a comparison')}: undefined")
            continue
        se_ok = is_finite_number(se) and se > 0
        up = diff > min_se * se if se_ok else diff > 0
        hits += up
        noise = (
            f"{'beyond' if abs(diff) > min_se * se else 'within'} noise" if se_ok else "no spread"
        )
        parts.append(
            f"{c['better']} vs {c['worse']} ({_CLAIMS.get((c['better'], c['worse']), '')}): "
            f"{c['quantity']} difference {diff:+.3f} +/- {se if se_ok else 0:.3f}, holds in "
            f"{c['holds']} of {c['draws']} draws, {noise}"
        )
    return (
        f"Over {estimate.get('draws', '?')} target draws: "
        + "; ".join(parts)
        + f": the paper's effect {_tally(hits, len(comparisons))}."
    )


def smooth_controls_verdict(rows: Sequence[dict]) -> str:
    """One sentence: text against both controls (random points, shuffled text)."""
    if not rows:
        return "No thresholds were evaluated."
    n = len(rows)
    over_random = sum(r["image_text"] > r["image_random"] for r in rows)
    text = (
        f"Adding text gives more smooth paths than adding random points near the data "
        f"at {over_random} of {n} thresholds"
    )
    if all("image_shuffled" in r for r in rows):
        over_shuffled = sum(r["image_text"] > r["image_shuffled"] for r in rows)
        text += f", more than the same text points with shuffled scenes at {over_shuffled}"
    over_image = sum(r["image_text"] > r["image"] for r in rows)
    text += f" and more than the images alone at {over_image} of {n}"
    joined = [r.get("random_mean_degree") for r in rows]
    if all(is_finite_number(d) for d in joined):
        text += (
            f" (each random point has {min(joined):.2f}-{max(joined):.2f} edges on "
            "average, so the control is not isolated)"
        )
    ours, paper = _gains(rows, "image_text", "image_random")
    text += _gains_text("text over random", ours, paper)
    text += _gains_text("random over images alone", *_gains(rows, "image_random", "image"))
    text += f": the paper's ordering (text > random) {_tally(over_random, n)}"
    if over_random and max(ours) < min(paper):
        text += (
            f", its size does not (our largest gain {max(ours):+.2f} in log(1 + paths) "
            f"is below the paper's smallest, {min(paper):+.2f})"
        )
    return text + "."


def _gains(rows: Sequence[dict], better: str, worse: str) -> tuple[list[float], list[float]]:
    """Per threshold, ``better - worse`` in log(1 + paths): ours and the paper's."""
    from .paper_numbers import TABLE3

    column = {"image": 0, "image_random": 1, "image_text": 2}
    ours = [r[better] - r[worse] for r in rows]
    paper = [v[column[better]] - v[column[worse]] for v in TABLE3.values()]
    return ours, paper


def _gains_text(what: str, ours: list[float], paper: list[float]) -> str:
    """``; <what>: +a to +b in log(1 + paths) (the paper: +c to +d)``."""
    return (
        f"; {what}: {min(ours):+.2f} to {max(ours):+.2f} in log(1 + paths) (the "
        f"paper: {min(paper):+.2f} to {max(paper):+.2f})"
    )


def memorisation_note(rows: Sequence[dict]) -> str:
    """One sentence: training-set R@1 beside test R@1, when the rows carry both."""
    pairs = [(r["train_R@1"], r["R@1"]) for r in rows if is_finite_number(r.get("train_R@1"))]
    if not pairs:
        return ""
    train, test = zip(*pairs, strict=True)
    return (
        f"Training-set R@1 is {min(train):.3f}-{max(train):.3f} against test R@1 "
        f"{min(test):.3f}-{max(test):.3f}."
    )


# ----------------------------------------------------------------------------- seeds


def seeds_verdict(claims: Sequence[dict]) -> str:
    """One sentence over training seeds: every claim's mean, SE, agreeing seeds and word
    (records of :func:`textmanifold.evaluate.seeds.over_seeds` plus ``claim``,
    ``verdict`` and, for a unit, ``quantity``)."""
    from .seeds import VERDICT_WORDS, seed_sentence

    if not claims:
        return "No claim could be measured."
    parts = [
        seed_sentence(c["claim"], c, f" ({c['quantity']})" if c.get("quantity") else "")
        for c in claims
    ]
    counts = {word: sum(c["verdict"] == word for c in claims) for word in VERDICT_WORDS}
    seeds = max(c["seeds"] for c in claims)
    return (
        f"Over {seeds} training seeds: "
        + "; ".join(parts)
        + f". Of {len(claims)} claims the paper's effect reproduces for "
        f"{counts['reproduces']}, does not reproduce for {counts['does not reproduce']} "
        f"and cannot be told for {counts['cannot tell']}."
    )
