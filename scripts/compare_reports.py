"""Put the verdicts of two or more demo reports side by side (a rerun on another machine
or thread count against the reference run).

Usage::

    python scripts/compare_reports.py NAME=runs/reproduce/report/report.json \
        NAME2=runs/reproduce_t1/report/report.json > docs/results/reruns.md

For every claim of the reports' ``over_seeds`` lists (Tables 1, 3 and 4) it prints each
run's mean +/- SE and verdict word, whether the verdicts agree, and how far the means lie
apart in units of their combined SE (sqrt(SE_a^2 + SE_b^2), against the first run). The
reports must come from the same demo size: their claims are matched by name.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

SECTIONS = {"label_retrieval": "Table 1", "smooth_paths": "Table 3", "composed": "Table 4"}


def claims(report: dict) -> dict[tuple[str, str], dict]:
    """(table, claim) -> the claim's record, for every table with ``over_seeds``."""
    out = {}
    for section, table in SECTIONS.items():
        for claim in report.get(section, {}).get("over_seeds", []):
            out[(table, claim["claim"])] = claim
    return out


def main(arguments: list[str]) -> None:
    if len(arguments) < 2 or any("=" not in a for a in arguments):
        raise SystemExit(__doc__)
    runs = []
    for argument in arguments:
        name, path = argument.split("=", 1)
        report = json.loads(Path(path).read_text())
        runs.append((name, report, claims(report)))
    head = [f"{name} ({report['config']['threads']} threads, "
            f"{report['total_seconds'] / 60:.0f} min)" for name, report, _ in runs]
    print("| Table | Claim | " + " | ".join(head) + " | Same verdict | Apart (SE) |")
    print("| --- | --- | " + " | ".join("---" for _ in runs) + " | --- | --- |")
    first = runs[0][2]
    for key, reference in first.items():
        cells, words, gaps = [], [], []
        for _, _, found in runs:
            claim = found.get(key)
            if claim is None:
                cells.append("missing")
                continue
            cells.append(f"{claim['mean']:+.3f} +/- {claim['se']:.3f} ({claim['verdict']}, "
                         f"{claim['agree']} of {claim['seeds']} seeds)")
            words.append(claim["verdict"])
            combined = math.hypot(reference["se"], claim["se"])
            gaps.append(abs(claim["mean"] - reference["mean"]) / combined if combined else 0.0)
        same = "yes" if len(set(words)) == 1 and len(words) == len(runs) else "**no**"
        apart = ", ".join(f"{g:.1f}" for g in gaps[1:])
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {same} | {apart} |")


if __name__ == "__main__":
    main(sys.argv[1:])
