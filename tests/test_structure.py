"""The shape of src/: one-way layers, no import cycle (lazy and type-only imports
included), small files.

The layers are read from the map, ``docs/architecture.md``: the block after the marker
``<!-- layers -->`` lists one layer per line, highest first, as ``N  unit, unit, ...``
where a unit is a subpackage or a top-level module of ``textmanifold``.
"""

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "textmanifold"
MAP = ROOT / "docs" / "architecture.md"
# Lines as ruff format writes them (one argument or item a line once a call wraps).
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere in its body (functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            # "from . import io" imports the module textmanifold.io
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def import_graph() -> nx.DiGraph:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = nx.DiGraph()
    for path in paths:
        source = _module_name(path)
        graph.add_node(source)
        for target in _imports(path, modules):
            # A package's __init__ re-exporting its own modules is not a cycle with them.
            if not (path.name == "__init__.py" and target.startswith(source + ".")):
                graph.add_edge(source, target)
    return graph


def test_the_walker_sees_known_edges():
    graph = import_graph()
    assert graph.has_edge("textmanifold.demo.runner", "textmanifold.demo.stages")
    assert graph.has_edge("textmanifold.synth.changes", "textmanifold.synth.change_types")
    assert graph.has_edge("textmanifold.demo.stages", "textmanifold.demo.figures")  # lazy


def test_no_import_cycle_in_src():
    cycles = [c for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == []


def test_no_file_over_the_size_limit():
    long = {
        p.relative_to(PACKAGE).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def map_layers() -> dict[str, int]:
    """``{unit: layer}`` from the fenced block after ``<!-- layers -->`` in the map."""
    text = MAP.read_text(encoding="utf-8")
    block = text.split("<!-- layers -->", 1)[1].split("```", 2)[1]
    layers = {}
    for line in block.splitlines()[1:]:  # the fence's first line is its language
        if match := re.match(r"\s*(\d+)\s+(.+)", line):
            for unit in match[2].split("#")[0].split(","):
                layers[unit.strip()] = int(match[1])
    return layers


def unit_of(module: str) -> str:
    """The layer unit of a module: ``textmanifold.index.core`` -> ``index``; the package
    itself (``from .. import io`` names it too) -> ``textmanifold``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_violations(edges, layers: dict[str, int]) -> list[str]:
    """Imports that break the rule of the map: a unit imports only units of lower layers
    (or itself); the top-level modules of layer 0 may import one another."""
    bad = []
    for source, target in edges:
        a, b = unit_of(source), unit_of(target)
        if a == b or layers[b] < layers[a] or layers[a] == layers[b] == 0:
            continue
        bad.append(f"{source} (layer {layers[a]}) imports {target} (layer {layers[b]})")
    return sorted(bad)


def test_every_unit_of_the_package_is_on_the_map():
    units = {unit_of(m) for m in import_graph().nodes}
    assert units - map_layers().keys() == set(), "add the new unit to docs/architecture.md"
    assert map_layers().keys() - units == set(), "the map names a unit that no longer exists"


def test_no_lower_layer_imports_a_higher_one():
    assert layer_violations(import_graph().edges, map_layers()) == []


@pytest.mark.parametrize(
    "edge",
    [
        ("textmanifold.models.loss", "textmanifold.engines.ray_embed"),
        ("textmanifold.models.embed", "textmanifold.evaluate.recall"),
        ("textmanifold.manifold.graph", "textmanifold.models.joint"),  # same layer
        ("textmanifold.collection", "textmanifold.synth.cci"),
        ("textmanifold.errors", "textmanifold.cli"),
    ],
)
def test_the_layer_rule_refuses_upward_and_sideways_imports(edge):
    assert len(layer_violations([edge], map_layers())) == 1


def test_models_imports_neither_engines_nor_evaluate():
    # the two wrong-way dependencies, by name: the loss is told its rank and
    # world size (models.distributed), held-out recall ranks with textmanifold.ranking
    graph = import_graph()
    wrong = [
        (a, b)
        for a, b in graph.edges
        if unit_of(a) == "models" and unit_of(b) in ("engines", "evaluate")
    ]
    assert wrong == []


def test_the_index_is_one_class_not_a_stack_of_mixins():
    # Its look-up, growth and search are values it holds or functions it calls
    # (index/lookup.py, adding.py, searching.py), which read it only from outside.
    from textmanifold.index import ManifoldIndex

    assert ManifoldIndex.__bases__ == (object,)
    graph = import_graph()
    for part in ("lookup", "adding", "assembly", "searching"):
        assert not graph.has_edge(f"textmanifold.index.{part}", "textmanifold.index.core")
