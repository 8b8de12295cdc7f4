"""No runtime import cycle in the integration or the add-on (imports for type checking only do not count).

A cycle hidden by a function-local import or by import order breaks as soon as someone imports a module first;
this reads every module's top-level imports (outside ``if TYPE_CHECKING:``) and looks for a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    (ROOT, ROOT / "custom_components" / "smart_park"),
    (ROOT / "addons" / "park_sync", ROOT / "addons" / "park_sync" / "park_sync"),
]


def _module(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """The project modules ``module`` imports when imported (not in functions, not for type checking)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + [s for h in node.handlers for s in h.body] + node.orelse + node.finalbody)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
                source = ".".join(p for p in (base, node.module or "") if p)
                submodules = {f"{source}.{alias.name}" for alias in node.names} & modules
                # `from . import x` of a submodule imports x, not the package's other names.
                found.update(submodules or {source})

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return (found & modules) - {module}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize(("root", "package"), PACKAGES, ids=["smart_park", "park_sync"])
def test_no_runtime_import_cycle(root: Path, package: Path) -> None:
    """Every module can be imported first."""
    paths = {_module(root, p): p for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {m: _imports(p, m, set(paths)) for m, p in paths.items()}
    assert sum(len(edges) for edges in graph.values()) > len(graph), "the import graph was not read"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_a_cycle_is_found() -> None:
    """The search finds a cycle when there is one (else the test above proves nothing)."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
