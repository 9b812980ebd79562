"""Counts behind issue 20's closing note, for one source tree (run it on two to compare).

    python scripts/house_counts.py src/textmanifold [other/src/textmanifold ...]

Per tree:

- modules, and modules that define ``__all__``;
- public functions (module-level ``def`` and methods of public classes whose names do
  not start with ``_``) and those whose docstring has a numpydoc section (a header
  such as ``Parameters`` underlined with dashes);
- hand-written option / range checks: ``raise`` statements outside ``validation.py``
  whose message says "must be one of", "must be in", "must be positive", "must be >"
  or "must be >=" (the checks :mod:`textmanifold.validation` exists to replace);
- CLI lines: all lines of ``cli/*.py``, and of those the lines inside command
  functions' bodies (functions that take a ``typer`` option default).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

SECTION = re.compile(r"^\s*(Parameters|Returns|Raises|Yields|Attributes)\n\s*-{3,}", re.M)
HAND_CHECK = re.compile(r"must be (one of|in\b|positive|>=?)")


def public_functions(tree: ast.Module):
    """Module-level public functions and public methods of public classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith("_"):
                yield node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    if not item.name.startswith("_"):
                        yield item


def hand_checks(tree: ast.Module) -> int:
    """``raise`` statements whose message text reads like an option or range check."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            text = " ".join(
                part.value
                for part in ast.walk(node.exc)
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            count += bool(HAND_CHECK.search(text))
    return count


def is_command(node: ast.FunctionDef) -> bool:
    """A function with a ``typer.Option`` / ``typer.Argument`` (or a named option) default."""
    defaults = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    for default in defaults:
        text = ast.unparse(default)
        if text.startswith("typer.") or text.isupper():
            return True
    return False


def defines_all(tree: ast.Module) -> bool:
    """The module assigns ``__all__`` at top level."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def counts(root: Path) -> dict:
    modules = sorted(root.rglob("*.py"))
    result = dict.fromkeys(
        ("modules", "with __all__", "public functions", "with numpydoc sections",
         "hand-written checks", "CLI lines", "CLI command-body lines"),
        0,
    )
    for path in modules:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        result["modules"] += 1
        result["with __all__"] += defines_all(tree)
        for fn in public_functions(tree):
            result["public functions"] += 1
            result["with numpydoc sections"] += bool(SECTION.search(ast.get_docstring(fn) or ""))
        if path.name != "validation.py":
            result["hand-written checks"] += hand_checks(tree)
        if path.parent.name == "cli":
            result["CLI lines"] += len(source.splitlines())
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and is_command(node):
                    body = node.body[1:] if ast.get_docstring(node) else node.body
                    result["CLI command-body lines"] += body[-1].end_lineno - body[0].lineno + 1
    return result


def main(roots: list[str]) -> None:
    tables = {root: counts(Path(root)) for root in roots}
    keys = list(next(iter(tables.values())))
    print("| count | " + " | ".join(roots) + " |")
    print("| --- |" + " --- |" * len(roots))
    for key in keys:
        print(f"| {key} | " + " | ".join(str(t[key]) for t in tables.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["src/textmanifold"])
