"""The experiment report: tables -> ``report.json``, ``report.md`` and a static ``index.html``.

Input is a plain dict of results (the rows each evaluation produced, the stage wall
times, the figure files); :func:`write_report` validates it, adds the paper's numbers
beside every table and one sentence per table saying whether the paper's effect shows in
*these* numbers. The sentences are computed from the rows, never written in advance.

Results layout (the keys of ``report.json``). A table is a list of rows, or a dict with
its ``rows`` and more (the demo's: Table 1 over target draws with ``draws`` and
``comparisons``, rows adding ``accuracy_mean``/``accuracy_se``; Table 3 with ``rule``,
``sampler`` and a ``variant`` under the other rule; Table 4 with ``train_pairs`` and
``joint_term_images``, rows adding ``train_R@1``)::

    label_retrieval  rows {row, method, space, accuracy, retrievable, queries}   (Table 1)
    label_retrieval_sweep (optional) rows {degree, threshold, queries,
                     image_retrievable, joint_retrievable, C, D, E, F}: rows C-F at
                     several thresholds
    smooth_paths     rows {threshold, image, image_random, image_text}            (Table 3)
                     values are log(1 + number of smooth paths); optional *_count
    composed         rows {method, in_joint, R@1, R@10, R@50}                     (Table 4)
    stages           rows {stage, seconds}
    figures          rows {path (relative to the report directory), caption}
    config, notes    free-form dicts shown as given
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import io
from ..errors import InputError
from . import paper_numbers
from .verdicts import (
    composed_verdict,
    label_draws_verdict,
    label_retrieval_verdict,
    label_sweep_verdict,
    memorisation_note,
    smooth_controls_verdict,
    smooth_paths_verdict,
)

LABEL_FIELDS = ("row", "method", "space", "accuracy", "retrievable")
SMOOTH_FIELDS = ("threshold", "image", "image_random", "image_text")
COMPOSED_FIELDS = ("method", "in_joint", "R@1", "R@10", "R@50")
STAGE_FIELDS = ("stage", "seconds")
SWEEP_FIELDS = ("degree", "threshold", "queries", "image_retrievable", "joint_retrievable",
                "C", "D", "E", "F")


# ----------------------------------------------------------------------------- validation


def rows_of(table: Any) -> Any:
    """A table's rows: the list itself, or a dict's ``rows``."""
    return table["rows"] if isinstance(table, dict) and "rows" in table else table


def _check_rows(rows: Any, key: str, fields: Sequence[str], numeric: Sequence[str]) -> list[dict]:
    if not isinstance(rows, list):
        raise InputError(f"results[{key!r}] must be a list of rows")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"results[{key!r}][{i}] must be a dict")
        for name in fields:
            if name not in row:
                raise InputError(f"results[{key!r}][{i}] lacks field {name!r}")
        for name in numeric:
            value = row[name]
            if value is None or isinstance(value, bool) or not math.isfinite(float(value)):
                raise InputError(f"results[{key!r}][{i}][{name!r}] is not a finite number")
    return rows


def validate_results(results: dict) -> None:
    """Raise :class:`InputError` naming the first missing key, field or non-finite value.

    Row B of label retrieval may hold a NaN accuracy (no bracketing thresholds were
    found); every other number must be finite.
    """
    for key in ("label_retrieval", "smooth_paths", "composed", "stages"):
        if key not in results:
            raise InputError(f"results lack key {key!r}")
    label = rows_of(results["label_retrieval"])
    if not isinstance(label, list):
        raise InputError("results['label_retrieval'] must be a list of rows")
    label_rows = [r for r in label if isinstance(r, dict) and r.get("row") != "B"]
    _check_rows(label_rows, "label_retrieval", LABEL_FIELDS, ("accuracy", "retrievable"))
    _check_rows(label, "label_retrieval", LABEL_FIELDS, ())
    _check_rows(rows_of(results["smooth_paths"]), "smooth_paths", SMOOTH_FIELDS, SMOOTH_FIELDS)
    _check_rows(rows_of(results["composed"]), "composed", COMPOSED_FIELDS,
                ("R@1", "R@10", "R@50"))
    _check_rows(results["stages"], "stages", STAGE_FIELDS, ("seconds",))
    _check_rows(results.get("label_retrieval_sweep", []), "label_retrieval_sweep",
                SWEEP_FIELDS, ("degree", "threshold", "image_retrievable",
                               "joint_retrievable"))


# ----------------------------------------------------------------------------- tables


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


def label_retrieval_table(table: Sequence[dict] | dict) -> Table:
    paper = paper_numbers.TABLE1
    rows = rows_of(table)
    body = []
    for r in rows:
        ade = paper["ADE20K"].get(r["row"], (None, None))
        oi = paper["OpenImage"].get(r["row"], (None, None))
        retrievable = r["retrievable"]
        body.append([
            r["row"], r["method"], r["space"], _num(r["accuracy"]), _num(r.get("accuracy_se")),
            _num(retrievable, 1) if isinstance(retrievable, float) else _num(int(retrievable)),
            _num(r.get("queries")), _num(ade[0]), _num(ade[1]), _num(oi[0]), _num(oi[1]),
        ])
    estimate = isinstance(table, dict) and "comparisons" in table
    note = (f"Mean over {table['draws']} target draws (SE: standard error of the mean; "
            "retrievable: mean count)." if estimate else "")
    return Table(
        "Label retrieval (Table 1 analogue, category set)",
        ["Row", "Method", "Space", "Accuracy", "SE", "Retrievable", "Queries",
         "Paper ADE20K acc.", "Paper ADE20K retr.", "Paper OpenImage acc.",
         "Paper OpenImage retr."],
        body, label_draws_verdict(table) if estimate else label_retrieval_verdict(rows), note,
    )


def label_sweep_table(rows: Sequence[dict]) -> Table:
    body = [[_num(r["degree"], 2), _num(r["threshold"]), _num(int(r["queries"])),
             _num(int(r["image_retrievable"])), _num(r["C"]), _num(r["D"]),
             _num(int(r["joint_retrievable"])), _num(r["E"]), _num(r["F"])] for r in rows]
    return Table(
        "Label retrieval at several thresholds (rows C-F)",
        ["Image mean degree", "Threshold (rad)", "Queries", "Image retr.", "C (Eu*)",
         "D (Geo)", "Joint retr.", "E (Eu*)", "F (Geo)"],
        body, label_sweep_verdict(rows),
        "Each threshold gives the Image graph the mean degree in the first column; the "
        "table above is the run's chosen threshold.",
    )


def smooth_paths_table(table: Sequence[dict] | dict) -> Table:
    paper = sorted(paper_numbers.TABLE3.items())
    rows = rows_of(table)
    body = []
    for i, r in enumerate(rows):
        theirs = paper[i] if i < len(paper) else (None, (None, None, None))
        body.append([
            _num(r["threshold"]), _num(r["image"], 2), _num(r["image_random"], 2),
            _num(r.get("image_shuffled"), 2), _num(r["image_text"], 2),
            _num(r.get("random_mean_degree"), 2), _num(r.get("text_mean_degree"), 2),
            _num(theirs[0], 2), *(_num(v, 2) for v in theirs[1]),
        ])
    rule = table.get("rule") if isinstance(table, dict) else None
    sampler = table.get("sampler", {}).get("description") if isinstance(table, dict) else None
    note = ("Values are log(1 + number of smooth shortest paths between two image vertices). "
            "Paper rows are matched to ours by rank: our thresholds are chosen for our "
            "embedding.")
    if rule:
        note += f" Rule: {rule}."
    if sampler:
        note += f" Random points: {sampler}. Degrees: mean edges per added point."
    controls = rows and "image_shuffled" in rows[0]
    return Table(
        "Smooth shortest paths (Table 3 analogue, CCI)" + (f", {rule} rule" if rule else ""),
        ["Threshold (rad)", "Image", "Image + random", "Image + shuffled text",
         "Image + text", "Random degree", "Text degree", "Paper threshold", "Paper image",
         "Paper + random", "Paper + text"],
        body, smooth_controls_verdict(rows) if controls else smooth_paths_verdict(rows), note,
    )


def composed_table(table: Sequence[dict] | dict) -> Table:
    rows = rows_of(table)
    body = []
    for r in rows:
        paper = paper_numbers.TABLE4.get((r["method"], bool(r["in_joint"])), {})
        body.append([
            r["method"], _num(bool(r["in_joint"])), _num(r["R@1"]), _num(r["R@10"]),
            _num(r["R@50"]), _num(r.get("train_R@1")), _num(paper.get("CCI")),
            _num(paper.get("CSS")),
        ])
    note = ""
    if isinstance(table, dict) and "train_pairs" in table:
        note = (f"Trained on {table['train_pairs']} pairs; Eq. 2's joint term saw "
                f"{table['joint_term_images']} distinct described images. "
                + memorisation_note(rows))
    return Table(
        "Composed retrieval (Table 4 analogue, CCI test pairs)",
        ["Method", "In Joint", "R@1", "R@10", "R@50", "Train R@1", "Paper CCI R@1",
         "Paper CSS R@1"],
        body, composed_verdict(rows), note,
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
    variant = results["smooth_paths"].get("variant") if isinstance(
        results["smooth_paths"], dict) else None
    if variant:
        tables.append(smooth_paths_table({**results["smooth_paths"], **variant}))
    return tables + [composed_table(results["composed"]), stages_table(results["stages"])]


# ----------------------------------------------------------------------------- rendering


def _md_table(table: Table) -> str:
    lines = [f"## {table.title}", ""]
    lines.append("| " + " | ".join(table.headers) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.headers) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    if table.verdict:
        lines += ["", f"**Does it reproduce?** {table.verdict}"]
    return "\n".join(lines) + "\n"


def render_markdown(report: dict, title: str = "textmanifold demo report") -> str:
    """The report as Markdown; figures are linked by their relative paths."""
    parts = [f"# {title}\n"]
    parts += [_md_table(t) for t in tables_of(report)]
    if report.get("figures"):
        parts.append("## Figures\n")
        for fig in report["figures"]:
            parts.append(f"![{fig['caption']}]({fig['path']})\n\n*{fig['caption']}*\n")
    for key in ("notes", "config"):
        if report.get(key):
            parts.append(f"## {key.capitalize()}\n")
            parts += [f"- **{k}**: {v}" for k, v in sorted(report[key].items())]
            parts.append("")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:nth-child(-n+3) { text-align: left; }
.verdict { background: #f7f7e8; padding: 0.5em 0.8em; border-left: 4px solid #b8b860; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #ddd; }
"""


def _html_table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    out = f"<h2>{esc(table.title)}</h2>\n<table><tr>{head}</tr>{body}</table>\n"
    if table.note:
        out += f"<p>{esc(table.note)}</p>\n"
    if table.verdict:
        out += f'<p class="verdict"><b>Does it reproduce?</b> {esc(table.verdict)}</p>\n'
    return out


def render_html(report: dict, title: str = "textmanifold demo report") -> str:
    """A self-contained static page (no scripts); figures by relative path."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    parts += [_html_table(t) for t in tables_of(report)]
    for fig in report.get("figures", []):
        parts.append(
            f'<figure><img src="{esc(fig["path"])}" alt="{esc(fig["caption"])}">'
            f"<figcaption>{esc(fig['caption'])}</figcaption></figure>"
        )
    for key in ("notes", "config"):
        if report.get(key):
            items = "".join(
                f"<li><b>{esc(str(k))}</b>: {esc(str(v))}</li>"
                for k, v in sorted(report[key].items())
            )
            parts.append(f"<h2>{key.capitalize()}</h2><ul>{items}</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def build_report(results: dict) -> dict:
    """The JSON report: the results plus the paper's numbers and the verdicts."""
    validate_results(results)
    report = dict(results)
    report["figures"] = list(results.get("figures", []))
    report["paper"] = {
        "label_retrieval": {
            ds: {row: {"accuracy": a, "retrievable": n} for row, (a, n) in rows.items()}
            for ds, rows in paper_numbers.TABLE1.items()
        },
        "smooth_paths": [
            {"threshold": t, "image": a, "image_random": b, "image_text": c}
            for t, (a, b, c) in sorted(paper_numbers.TABLE3.items())
        ],
        "composed": [
            {"method": m, "in_joint": j, "R@1": v} for (m, j), v in paper_numbers.TABLE4.items()
        ],
    }
    report["verdicts"] = {
        key: table.verdict for key, table in zip(
            ("label_retrieval", "smooth_paths", "composed"),
            (label_retrieval_table(results["label_retrieval"]),
             smooth_paths_table(results["smooth_paths"]),
             composed_table(results["composed"])), strict=True)}
    report["verdicts"]["label_retrieval_sweep"] = label_sweep_verdict(
        results.get("label_retrieval_sweep", []))
    report["total_seconds"] = sum(float(r["seconds"]) for r in results["stages"])
    return report


def json_safe(obj: Any) -> Any:
    """Non-finite floats become None: JSON has no NaN, and readers choke on it."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def write_report(out_dir: str | os.PathLike, results: dict,
                 title: str = "textmanifold demo report") -> dict:
    """Write ``report.json``, ``report.md`` and ``index.html`` into ``out_dir`` atomically.

    Figures must already lie under ``out_dir`` at their relative ``path``.

    Returns
    -------
    dict
        The report as written to ``report.json``.
    """
    out = Path(out_dir)
    report = build_report(results)
    for fig in report["figures"]:
        if not (out / fig["path"]).is_file():
            raise InputError(f"figure {fig['path']!r} not found under {out}")
    io.write_json(out / "report.json", json_safe(report))
    io.write_text(out / "report.md", render_markdown(report, title))
    io.write_text(out / "index.html", render_html(report, title))
    return report
