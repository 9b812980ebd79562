"""Every import the README shows works, and its Python blocks run on tiny data.

A block that needs a running server (the HTTP client) is checked for its imports only;
the others run as written, with the README's data swapped for tiny stand-ins (random
unit rows, the session's tiny index in place of ``runs/demo/index``).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    """The README's fenced ``python`` blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def block_with(first_import: str) -> str:
    """The one Python block whose code imports from ``first_import``."""
    found = [b for b in python_blocks() if f"from {first_import} import" in b]
    assert len(found) == 1, f"the README has {len(found)} blocks importing {first_import}"
    return found[0]


def named_imports(source: str) -> list[tuple[str, str | None]]:
    """``(module, name)`` of every import in a block (``name`` None for ``import x``)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names]
    return out


def table_names() -> list[tuple[str, str]]:
    """``(module, name)`` the README's feature table names, e.g.
    ``textmanifold.synth`` (``generate_cci``, ...)."""
    pairs = []
    for line in README.read_text(encoding="utf-8").splitlines():
        for module, names in re.findall(r"`(textmanifold[\w.]*)` \(([^)]*)\)", line):
            pairs += [(module, n) for n in re.findall(r"`(\w+)`", names)]
    return pairs


def table_modules() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return sorted(set(re.findall(r"`(textmanifold(?:\.\w+)*)`", text)))


def test_the_readme_has_the_blocks_this_file_runs():
    assert len(python_blocks()) == 3


@pytest.mark.parametrize("block", range(3))
def test_every_import_of_a_readme_block_works(block):
    import importlib

    for module, name in named_imports(python_blocks()[block]):
        imported = importlib.import_module(module)
        if name is not None:
            assert hasattr(imported, name), f"{module} has no {name}"


def test_every_module_and_name_of_the_readme_imports():
    import importlib

    modules = table_modules()
    assert "textmanifold.synth" in modules and "textmanifold.models.compose" in modules
    for module in modules:
        importlib.import_module(module)
    names = table_names()
    assert ("textmanifold.synth", "generate_cci") in names
    for module, name in names:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_the_manifold_block_runs_on_tiny_arrays():
    from _manifold_fixtures import sphere_points

    rng = np.random.default_rng(0)
    texts = sphere_points(40, 8, seed=1)
    images = texts + 0.05 * rng.normal(size=texts.shape)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    scope = {
        "images": images,
        "texts": texts,
        "targets": np.arange(20),
        "queries": np.arange(20, 40),
        "labels": np.array(list("ab") * 20),
    }
    exec(block_with("textmanifold.manifold"), scope)
    assert len(scope["pred"]) == 20 and scope["mask"].dtype == bool


def test_the_index_block_runs_on_the_tiny_index(tiny_index_dir):
    source = block_with("textmanifold.index").replace(
        '"runs/demo/index"', repr(str(tiny_index_dir))
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(source, {})
    assert len(printed.getvalue().splitlines()) == 5  # k=5 hits, one line each
