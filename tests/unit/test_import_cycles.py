"""The top-level packages of provisioner/ import each other without a cycle.

One node per top-level package or module (``stack``, ``plan``, ``core``,
``errors``, ...); each provider plugin is a node of its own
(``providers.libvirt``), as a plugin from outside would be. An edge is any
``import`` of another node, at module level or inside a function (a lazy
import is still a dependency), except under ``if TYPE_CHECKING:`` (types only).
A cycle makes two packages one: neither can be read, tested or replaced alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2] / "provisioner"


def import_graph(root: Path) -> nx.DiGraph:
    """Nodes and import edges of the package at ``root``."""
    package = root.name
    plugins = {p.name for p in (root / "providers").glob("*/__init__.py")
               for p in [p.parent]} if (root / "providers").is_dir() else set()

    def node_of(module: str) -> str | None:
        parts = module.split(".")
        if parts[0] != package or len(parts) < 2:
            return None
        if parts[1] == "providers" and len(parts) > 2 and parts[2] in plugins:
            return f"providers.{parts[2]}"
        exists = (root / parts[1]).is_dir() or (root / f"{parts[1]}.py").is_file()
        return parts[1] if exists else None

    graph = nx.DiGraph()
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        source = node_of(module)
        if source is None:
            continue
        graph.add_node(source)
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8")), module):
            target = node_of(imported)
            if target is not None and target != source:
                graph.add_edge(source, target)
    return graph


def _imports(tree: ast.AST, module: str) -> Iterator[str]:
    """Modules imported outside ``if TYPE_CHECKING:`` blocks (relative ones resolved)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base]) if base else ".".join(package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _cycles(graph: nx.DiGraph) -> list[list[str]]:
    return sorted(sorted(cycle) for cycle in nx.simple_cycles(graph))


def test_no_cycle_between_top_level_packages() -> None:
    cycles = _cycles(import_graph(ROOT))
    assert cycles == [], "import cycles between packages: " + "; ".join(
        " -> ".join(cycle) for cycle in cycles)


def test_core_imports_no_other_package() -> None:
    graph = import_graph(ROOT)
    assert graph.has_edge("stack", "core"), "the graph misses real imports"
    assert set(graph.successors("core")) <= {"errors", "units"}


def test_a_cycle_is_found_lazy_imports_included_type_checking_ones_not(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    for name, body in {
        "a/__init__.py": "from pkg.b import x\n",
        "b/__init__.py": "def f():\n    from pkg.a import y\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import z\n",
        "providers/__init__.py": "",
        "providers/one/__init__.py": "from pkg.c import w\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    (root / "__init__.py").write_text("")
    graph = import_graph(root)
    assert _cycles(graph) == [["a", "b"]]
    assert not graph.has_edge("c", "a")
    assert graph.has_edge("providers.one", "c")
