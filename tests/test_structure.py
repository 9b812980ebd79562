"""The shape of src/: no import cycle (lazy and type-only imports included), small files."""

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "textmanifold"
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
            base = base[:len(base) - node.level + 1] if node.level else []
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
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
