"""No import cycle between apkd's packages, counting every import (top level, inside functions,
under TYPE_CHECKING): each module is parsed with ``ast``; ``apkd.x.y`` belongs to package ``x``
(a top-level module such as ``apkd.db`` is its own node)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import apkd

SRC = Path(apkd.__file__).parent

# Edges that other work in progress still has to remove (issue 10); each names its owner.
# Remove an entry as soon as the edge is gone: the test then guards it.
KNOWN_EDGES: set[tuple[str, str]] = set()


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "apkd" or len(parts) < 2:
        return None
    return parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Every module named by an import in ``path`` (relative imports resolved)."""
    name = _module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append(target)
            # ``from apkd import audit`` names the module apkd.audit
            out.extend(f"{target}.{alias.name}" for alias in node.names if target == "apkd")
    return out


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        source = _package(_module_name(path)) if _module_name(path) != "apkd" else None
        if source is None:
            continue
        graph[source]
        for target_module in _imports(path):
            target = _package(target_module)
            if target is None or target == source or (source, target) in KNOWN_EDGES:
                continue
            if (SRC / target).is_dir() or (SRC / f"{target}.py").is_file():
                graph[source].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def _describe(graph: dict[str, set[str]], cycle: list[str]) -> str:
    members = set(cycle)
    edges = sorted(f"{a} -> {b}" for a in cycle for b in graph[a] if b in members)
    return f"{', '.join(cycle)} (edges: {'; '.join(edges)})"


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between apkd packages:\n" + "\n".join(
        _describe(graph, c) for c in cycles
    )


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    module = SRC / "credentials" / "service.py"
    assert any(t.startswith("apkd.") for t in _imports(module))


def test_known_edges_are_still_there() -> None:
    """A known edge that no longer exists must leave KNOWN_EDGES, so it cannot come back."""
    for source, target in KNOWN_EDGES:
        found = False
        for path in SRC.rglob("*.py"):
            if _package(_module_name(path)) == source:
                found = found or any(_package(m) == target for m in _imports(path))
        assert found, f"{source} -> {target} is gone: remove it from KNOWN_EDGES"


def test_the_command_line_and_the_services_load_without_the_web_framework() -> None:
    """apkd.errors (which every service raises from) imports no Litestar, and the command
    groups load their domain's services only when one of their commands runs: each `apkd`
    command would otherwise pay for loading what it never uses (decision 053)."""
    import subprocess
    import sys

    heavy = ("litestar", "apkd.sites.service", "fpdf")
    code = f"import sys, apkd.cli, apkd.errors; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
