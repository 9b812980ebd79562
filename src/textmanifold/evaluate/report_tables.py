"""The report's tables: rows of results -> titled :class:`Table` objects of strings, with
the paper's numbers beside ours and one verdict sentence each
(:mod:`textmanifold.evaluate.verdicts`). :mod:`textmanifold.evaluate.report` validates
the results (whose layout it describes) and renders these tables to Markdown and HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import paper_numbers
from .verdicts import (
    composed_verdict,
    label_draws_verdict,
    label_retrieval_verdict,
    label_sweep_verdict,
    memorisation_note,
    seeds_verdict,
    smooth_controls_verdict,
    smooth_paths_verdict,
)


def rows_of(table: Any) -> Any:
    """A table's rows: the list itself, or a dict's ``rows``."""
    return table["rows"] if isinstance(table, dict) and "rows" in table else table


def _claims(table: Any) -> list[dict]:
    """A table's estimates over training seeds (:mod:`textmanifold.demo.over_seeds`)."""
    return table.get("over_seeds") or [] if isinstance(table, dict) else []


def _seeds_note(table: Any) -> str:
    seeds = table.get("training_seeds") if isinstance(table, dict) else None
    if not seeds:
        return ""
    return (
        f"Mean over {len(seeds)} training seeds ({', '.join(map(str, seeds))}); SE: "
        "standard error over the seeds, with the noise they share (same target draws "
        "or test queries) added in full. "
    )


@dataclass
class Table:
    """A titled table of strings, rendered to Markdown or HTML by the same data."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    verdict: str
    note: str = ""


def _num(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def _count(x: Any) -> str:
    """A count, or a mean count (over draws or seeds) with one decimal."""
    return _num(int(x)) if float(x).is_integer() else _num(x, 1)


def label_retrieval_table(table: Sequence[dict] | dict) -> Table:
    paper = paper_numbers.TABLE1
    rows = rows_of(table)
    body = []
    for r in rows:
        ade = paper["ADE20K"].get(r["row"], (None, None))
        oi = paper["OpenImage"].get(r["row"], (None, None))
        retrievable = r["retrievable"]
        body.append(
            [
                r["row"],
                r["method"],
                r["space"],
                _num(r["accuracy"]),
                _num(r.get("accuracy_se")),
                _num(retrievable, 1) if isinstance(retrievable, float) else _count(retrievable),
                _num(r.get("queries")),
                _num(ade[0]),
                _num(ade[1]),
                _num(oi[0]),
                _num(oi[1]),
            ]
        )
    estimate = isinstance(table, dict) and "comparisons" in table
    note = ""
    if estimate:
        note = (
            f"Each seed's value is a mean over {table['draws']} target draws (retrievable: "
            "mean count)."
            if _claims(table)
            else f"Mean over {table['draws']} target "
            "draws (SE: standard error of the mean; retrievable: mean count)."
        )
    if _claims(table):
        verdict = seeds_verdict(_claims(table))
    else:
        verdict = label_draws_verdict(table) if estimate else label_retrieval_verdict(rows)
    return Table(
        "Label retrieval (Table 1 analogue, category set)",
        [
            "Row",
            "Method",
            "Space",
            "Accuracy",
            "SE",
            "Retrievable",
            "Queries",
            "Paper ADE20K acc.",
            "Paper ADE20K retr.",
            "Paper OpenImage acc.",
            "Paper OpenImage retr.",
        ],
        body,
        verdict,
        _seeds_note(table) + note,
    )


def label_sweep_table(rows: Sequence[dict]) -> Table:
    body = [
        [
            _num(r["degree"], 2),
            _num(r["threshold"]),
            _num(int(r["queries"])),
            _count(r["image_retrievable"]),
            _num(r["C"]),
            _num(r["D"]),
            _count(r["joint_retrievable"]),
            _num(r["E"]),
            _num(r["F"]),
        ]
        for r in rows
    ]
    return Table(
        "Label retrieval at several thresholds (rows C-F)",
        [
            "Image mean degree",
            "Threshold (rad)",
            "Queries",
            "Image retr.",
            "C (Eu*)",
            "D (Geo)",
            "Joint retr.",
            "E (Eu*)",
            "F (Geo)",
        ],
        body,
        label_sweep_verdict(rows),
        "Each threshold gives the Image graph the mean degree in the first column; the "
        "table above is the run's chosen threshold.",
    )


def smooth_paths_table(table: Sequence[dict] | dict) -> Table:
    paper = sorted(paper_numbers.TABLE3.items())
    rows = rows_of(table)
    body = []
    for i, r in enumerate(rows):
        theirs = paper[i] if i < len(paper) else (None, (None, None, None))
        body.append(
            [
                _num(r["threshold"]),
                _num(r["image"], 2),
                _num(r["image_random"], 2),
                _num(r.get("image_shuffled"), 2),
                _num(r["image_text"], 2),
                _num(r.get("random_mean_degree"), 2),
                _num(r.get("text_mean_degree"), 2),
                _num(theirs[0], 2),
                *(_num(v, 2) for v in theirs[1]),
            ]
        )
    rule = table.get("rule") if isinstance(table, dict) else None
    sampler = table.get("sampler", {}).get("description") if isinstance(table, dict) else None
    note = (
        "Values are log(1 + number of smooth shortest paths between two image vertices). "
        "Paper rows are matched to ours by rank: our thresholds are chosen for our "
        "embedding."
    )
    if rule:
        note += f" Rule: {rule}."
    if sampler:
        note += f" Random points: {sampler}. Degrees: mean edges per added point."
    controls = rows and "image_shuffled" in rows[0]
    if _claims(table):
        verdict = seeds_verdict(_claims(table))
        note = _seeds_note(table) + note
    else:
        verdict = smooth_controls_verdict(rows) if controls else smooth_paths_verdict(rows)
    return Table(
        "Smooth shortest paths (Table 3 analogue, CCI)" + (f", {rule} rule" if rule else ""),
        [
            "Threshold (rad)",
            "Image",
            "Image + random",
            "Image + shuffled text",
            "Image + text",
            "Random degree",
            "Text degree",
            "Paper threshold",
            "Paper image",
            "Paper + random",
            "Paper + text",
        ],
        body,
        verdict,
        note,
    )


def composed_table(table: Sequence[dict] | dict) -> Table:
    rows = rows_of(table)
    body = []
    for r in rows:
        paper = paper_numbers.TABLE4.get((r["method"], bool(r["in_joint"])), {})
        body.append(
            [
                r["method"],
                _num(bool(r["in_joint"])),
                _num(r["R@1"]),
                _num(r.get("R@1_se")),
                _num(r["R@10"]),
                _num(r["R@50"]),
                _num(r.get("train_R@1")),
                _num(paper.get("CCI")),
                _num(paper.get("CSS")),
            ]
        )
    note = ""
    if isinstance(table, dict) and "train_pairs" in table:
        note = (
            f"Trained on {table['train_pairs']} pairs; Eq. 2's joint term saw "
            f"{table['joint_term_images']} distinct described images. " + memorisation_note(rows)
        )
    claims = _claims(table)
    return Table(
        "Composed retrieval (Table 4 analogue, CCI test pairs)",
        [
            "Method",
            "In Joint",
            "R@1",
            "R@1 SE",
            "R@10",
            "R@50",
            "Train R@1",
            "Paper CCI R@1",
            "Paper CSS R@1",
        ],
        body,
        seeds_verdict(claims) if claims else composed_verdict(rows),
        _seeds_note(table) + note,
    )


def training_table(rows: Sequence[dict]) -> Table:
    """One row per model: its steps, last validation R@1 and plateau over the seeds."""
    models: dict[str, list[dict]] = {}
    for r in rows:
        models.setdefault(r["model"], []).append(r)
    body = []
    for model, runs in models.items():
        last = [r["validation_R@1"] for r in runs if r.get("validation_R@1") is not None]
        body.append(
            [
                model,
                _num(len(runs)),
                ", ".join(str(r["steps"]) for r in runs),
                _num(sum(last) / len(last) if last else None, 3),
                f"{sum(bool(r['converged']) for r in runs)} of {len(runs)}",
            ]
        )
    return Table(
        "Training (learning curves on held-out pairs)",
        ["Model", "Seeds", "Steps per seed", "Last validation R@1", "Reached its plateau"],
        body,
        "",
        "A model has reached its plateau when its last measurements of validation "
        "R@1 do not beat its earlier best by the early-stop margin; the curves are "
        "in learning_curves.png and in report.json's training.",
    )


def stages_table(rows: Sequence[dict]) -> Table:
    body = [[r["stage"], _num(float(r["seconds"]), 1)] for r in rows]
    total = sum(float(r["seconds"]) for r in rows)
    body.append(["total", _num(total, 1)])
    return Table("Stage wall times", ["Stage", "Seconds"], body, "")


def tables_of(results: dict) -> list[Table]:
    tables = [label_retrieval_table(results["label_retrieval"])]
    if results.get("label_retrieval_sweep"):
        tables.append(label_sweep_table(results["label_retrieval_sweep"]))
    tables.append(smooth_paths_table(results["smooth_paths"]))
    variant = (
        results["smooth_paths"].get("variant")
        if isinstance(results["smooth_paths"], dict)
        else None
    )
    if variant:
        tables.append(smooth_paths_table({**results["smooth_paths"], **variant, "over_seeds": []}))
    tables.append(composed_table(results["composed"]))
    if results.get("training"):
        tables.append(training_table(results["training"]))
    return [*tables, stages_table(results["stages"])]
