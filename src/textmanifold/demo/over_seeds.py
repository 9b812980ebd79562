"""The demo's tables over training seeds: per-seed tables (:mod:`.tables`) -> one table of
means and standard errors, and one :func:`~textmanifold.evaluate.seeds.over_seeds`
estimate per claim of the paper (``over_seeds`` in each table, with its verdict word).

Every function takes ``{seed: that seed's table}`` (seed as a string: JSON keys) and keeps
the per-seed values beside the means, so that report.json shows what was averaged.
"""

from __future__ import annotations

import math

from ..evaluate.label_draws import COMPARISONS, mean_se
from ..evaluate.seeds import over_seeds, verdict_word


def _claim(claim: str, quantity: str, values, shared=None, converged: bool = True, **extra) -> dict:
    """An estimate over seeds with its claim, unit and verdict word; ``converged``: every
    model behind it reached its plateau (else the word is "cannot tell")."""
    estimate = over_seeds(values, shared)
    return {
        "claim": claim,
        "quantity": quantity,
        **extra,
        **estimate,
        "converged": bool(converged),
        "verdict": verdict_word(estimate, converged=bool(converged)),
    }


def _mean(values) -> float:
    """The mean of the finite values (NaN if none)."""
    return mean_se(list(values))[0]


def _seeds(per_seed: dict) -> list[str]:
    return sorted(per_seed, key=int)


# ----------------------------------------------------------------------------- Table 1


def table1_over_seeds(per_seed: dict[str, dict], converged: bool = True) -> dict:
    """Rows A-F: accuracy averaged over seeds (each a mean over target draws); SE over
    seeds with the draw SE counted as shared noise (every seed sees the same draws).
    ``converged``: every seed's joint model reached its plateau."""
    seeds = _seeds(per_seed)
    first = per_seed[seeds[0]]
    by_seed = {s: {r["row"]: r for r in per_seed[s]["rows"]} for s in seeds}
    rows = []
    for row in first["rows"]:
        key = row["row"]
        acc = [by_seed[s][key]["accuracy_mean"] for s in seeds]
        estimate = over_seeds(acc, [by_seed[s][key]["accuracy_se"] for s in seeds])
        retrievable = _mean(by_seed[s][key]["retrievable_mean"] for s in seeds)
        rows.append(
            {
                **{k: row[k] for k in ("row", "method", "space", "queries")},
                "accuracy": estimate["mean"],
                "accuracy_mean": estimate["mean"],
                "accuracy_se": estimate["se"],
                "accuracy_per_seed": estimate["per_seed"],
                "retrievable": retrievable,
                "retrievable_mean": retrievable,
            }
        )
    claims = []
    for better, worse, quantity, claim in COMPARISONS:
        found = [
            {(c["better"], c["worse"]): c for c in per_seed[s]["comparisons"]}.get((better, worse))
            for s in seeds
        ]
        if any(c is None for c in found):
            continue
        claims.append(
            _claim(
                f"{better} vs {worse}: {claim}",
                quantity,
                [c["difference_mean"] for c in found],
                [c["difference_se"] for c in found],
                converged,
                better=better,
                worse=worse,
                holds=sum(c["holds"] for c in found),
                draws=sum(c["draws"] for c in found),
            )
        )
    return {
        "draws": first["draws"],
        "training_seeds": [int(s) for s in seeds],
        "rows": rows,
        "comparisons": claims,
        "over_seeds": claims,
        "texts": first["texts"],
        "text_vertices": first["text_vertices"],
        "per_seed": {
            s: {"rows": per_seed[s]["rows"], "comparisons": per_seed[s]["comparisons"]}
            for s in seeds
        },
    }


def sweep_over_seeds(per_seed: dict[str, list[dict]]) -> list[dict]:
    """Rows C-F at several thresholds: every number averaged over the seeds."""
    seeds = _seeds(per_seed)
    rows = []
    for i, row in enumerate(per_seed[seeds[0]]):
        mean = {
            k: _mean(per_seed[s][i][k] for s in seeds)
            for k in row
            if k not in ("degree", "queries", "draws")
        }
        rows.append({**row, **mean})
    return rows


# ----------------------------------------------------------------------------- Table 3

_SMOOTH_COLUMNS = (
    "threshold",
    "image",
    "image_random",
    "image_shuffled",
    "image_text",
    "random_mean_degree",
    "text_mean_degree",
)


def _smooth_rows(per_seed_rows: dict[str, list[dict]]) -> list[dict]:
    seeds = _seeds(per_seed_rows)
    rows = []
    for i in range(len(per_seed_rows[seeds[0]])):
        row = {}
        for column in _SMOOTH_COLUMNS:
            values = [per_seed_rows[s][i].get(column) for s in seeds]
            if all(v is None for v in values):
                continue
            estimate = over_seeds(values)
            row[column], row[f"{column}_se"] = estimate["mean"], estimate["se"]
            row[f"{column}_per_seed"] = estimate["per_seed"]
        rows.append(row)
    return rows


def table3_over_seeds(per_seed: dict[str, dict], converged: bool = True) -> dict:
    """Smooth paths per threshold (the i-th of each seed's thresholds: the same mean
    degree), averaged over seeds; text - random per threshold and text - images alone
    (averaged over the thresholds) as claims. ``converged`` as for Table 1."""
    seeds = _seeds(per_seed)
    first = per_seed[seeds[0]]
    rows = {s: per_seed[s]["rows"] for s in seeds}
    claims = [
        _claim(
            f"text over random points at threshold {i + 1}",
            "log(1 + paths)",
            [rows[s][i]["image_text"] - rows[s][i]["image_random"] for s in seeds],
            converged=converged,
            threshold=i + 1,
        )
        for i in range(len(rows[seeds[0]]))
    ]
    claims.append(
        _claim(
            "text over the images alone (mean over thresholds)",
            "log(1 + paths)",
            [_mean(r["image_text"] - r["image"] for r in rows[s]) for s in seeds],
            converged=converged,
        )
    )
    variant = {s: per_seed[s]["variant"]["rows"] for s in seeds}
    return {
        "rule": first["rule"],
        "sampler": first["sampler"],
        "training_seeds": [int(s) for s in seeds],
        "rows": _smooth_rows(rows),
        "over_seeds": claims,
        "variant": {"rule": first["variant"]["rule"], "rows": _smooth_rows(variant)},
        "per_seed": {s: per_seed[s] for s in seeds},
    }


# ----------------------------------------------------------------------------- Table 4


def _binomial_se(p: float, queries: int) -> float:
    return math.sqrt(p * (1 - p) / queries) if queries else math.nan


def table4_over_seeds(per_seed: dict[str, dict]) -> dict:
    """R@K of every compositor averaged over seeds; in Joint - plain R@1 per method as a
    claim (the test queries' binomial SE counted as shared noise)."""
    seeds = _seeds(per_seed)
    first = per_seed[seeds[0]]
    keyed = {s: {(r["method"], r["in_joint"]): r for r in per_seed[s]["rows"]} for s in seeds}
    rows = []
    for row in first["rows"]:
        key = (row["method"], row["in_joint"])
        found = [keyed[s][key] for s in seeds]
        r1 = over_seeds(
            [r["R@1"] for r in found], [_binomial_se(r["R@1"], r["queries"]) for r in found]
        )
        rows.append(
            {
                **{k: row[k] for k in ("method", "key", "in_joint", "queries", "gallery")},
                **{
                    k: _mean(r[k] for r in found)
                    for k in ("R@1", "R@10", "R@50", "train_R@1", "train_R@10")
                },
                "R@1_se": r1["se"],
                "R@1_per_seed": r1["per_seed"],
                "joint_term_images": row.get("joint_term_images"),
                "steps_per_seed": [r.get("steps") for r in found],
                "converged": all(bool(r.get("converged")) for r in found),
            }
        )
    claims = []
    for method in dict.fromkeys(r["method"] for r in first["rows"]):
        if not all((method, j) in keyed[seeds[0]] for j in (False, True)):
            continue
        plain = [keyed[s][(method, False)] for s in seeds]
        joint = [keyed[s][(method, True)] for s in seeds]
        shared = [
            math.hypot(_binomial_se(p["R@1"], p["queries"]), _binomial_se(j["R@1"], j["queries"]))
            for p, j in zip(plain, joint, strict=True)
        ]
        claims.append(
            _claim(
                f"{method} in Joint over plain {method}",
                "R@1",
                [j["R@1"] - p["R@1"] for p, j in zip(plain, joint, strict=True)],
                shared,
                all(bool(r.get("converged")) for r in plain + joint),
                method=method,
            )
        )
    return {
        "train_pairs": first["train_pairs"],
        "test_pairs": first["test_pairs"],
        "joint_term_images": first["joint_term_images"],
        "training_seeds": [int(s) for s in seeds],
        "rows": rows,
        "over_seeds": claims,
        "per_seed": {s: per_seed[s]["rows"] for s in seeds},
    }
