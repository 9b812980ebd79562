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
from pathlib import Path
from typing import Any

from .. import io
from ..errors import InputError
from ..validation import is_finite_number
from . import paper_numbers
from .report_tables import (
    Table,
    composed_table,
    label_retrieval_table,
    rows_of,
    smooth_paths_table,
    tables_of,
)
from .verdicts import label_sweep_verdict

LABEL_FIELDS = ("row", "method", "space", "accuracy", "retrievable")
SMOOTH_FIELDS = ("threshold", "image", "image_random", "image_text")
COMPOSED_FIELDS = ("method", "in_joint", "R@1", "R@10", "R@50")
STAGE_FIELDS = ("stage", "seconds")
SWEEP_FIELDS = (
    "degree",
    "threshold",
    "queries",
    "image_retrievable",
    "joint_retrievable",
    "C",
    "D",
    "E",
    "F",
)


# ----------------------------------------------------------------------------- validation


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
            if not is_finite_number(value):
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
    _check_rows(rows_of(results["composed"]), "composed", COMPOSED_FIELDS, ("R@1", "R@10", "R@50"))
    _check_rows(results["stages"], "stages", STAGE_FIELDS, ("seconds",))
    _check_rows(
        results.get("label_retrieval_sweep", []),
        "label_retrieval_sweep",
        SWEEP_FIELDS,
        ("degree", "threshold", "image_retrievable", "joint_retrievable"),
    )


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
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
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
        key: table.verdict
        for key, table in zip(
            ("label_retrieval", "smooth_paths", "composed"),
            (
                label_retrieval_table(results["label_retrieval"]),
                smooth_paths_table(results["smooth_paths"]),
                composed_table(results["composed"]),
            ),
            strict=True,
        )
    }
    report["verdicts"]["label_retrieval_sweep"] = label_sweep_verdict(
        results.get("label_retrieval_sweep", [])
    )
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


def write_report(
    out_dir: str | os.PathLike, results: dict, title: str = "textmanifold demo report"
) -> dict:
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
