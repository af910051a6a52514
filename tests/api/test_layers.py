"""The API's layers, checked from the source: no import circles among its modules (imports
inside functions and under TYPE_CHECKING count too), and each layer imports only what it
may: `domain` nothing of the API but itself, `store` no schemas, workflows or HTTP,
`workflows` no FastAPI or routes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(package: str) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports (anywhere in it)."""
    modules = {_module(p): p for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Modules with their own package's modules folded into it, for `api.store` and such:
    a circle between two packages counts as much as one between two modules."""

    def fold(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 else name

    folded: dict[str, set[str]] = {}
    for name, targets in graph.items():
        folded.setdefault(fold(name), set()).update(fold(t) for t in targets)
    return {k: {t for t in v if t != k and t in folded} for k, v in folded.items()}


@pytest.mark.parametrize("package", ["api", "rules"])
def test_no_import_circles(package: str) -> None:
    assert _cycles(_imports(package)) == []


def test_no_import_circles_between_the_api_packages() -> None:
    # Incidents queue notifications; the notifier drives the emergency plans only through
    # its FeedReactions seam (api/notify/reactions.py), handed to it by the lifespan.
    assert _cycles(_package_graph(_imports("api"))) == []


def _external(package: str) -> dict[str, set[str]]:
    modules = {_module(p): p for p in (ROOT / package).rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
        out[name] = found
    return out


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("api.domain", ("api.", "fastapi", "sqlalchemy", "starlette")),
        ("api.store", ("api.schemas", "api.workflows", "api.routes", "api.errors", "fastapi")),
        ("api.workflows", ("api.routes", "api.errors", "api.deps", "fastapi", "starlette")),
    ],
)
def test_each_layer_imports_only_what_it_may(layer: str, forbidden: tuple[str, ...]) -> None:
    allowed_own = "api.domain" if layer == "api.domain" else None
    wrong = {
        name: sorted(
            m
            for m in imports
            if m.startswith(forbidden) and not (allowed_own and m.startswith(allowed_own))
        )
        for name, imports in _external("api").items()
        if name == layer or name.startswith(layer + ".")
    }
    assert {k: v for k, v in wrong.items() if v} == {}
