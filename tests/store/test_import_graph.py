"""store/ imports without cycles: its module-level import graph is acyclic, an import inside a
function is there only where ALLOWED says why (never to hide a cycle), and store/ imports
nothing from gateway/ or bots/. The graph is read statically (ast), so the check sees every
module whatever a test run happens to import."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (importing module, imported module): why the import waits until a function runs
ALLOWED = {
    ("store.files.export", "store.files.pdf"): "fpdf2 takes ~0.3 s to import; PDF exports only",
}


@dataclass
class Graph:
    """Module-level edges, and the imports made inside functions, of one package tree."""

    modules: set[str] = field(default_factory=set)
    edges: dict[str, set[str]] = field(default_factory=dict)
    lazy: set[tuple[str, str]] = field(default_factory=set)
    outside: set[tuple[str, str]] = field(default_factory=set)  # (module, top-level package)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith(
        "TYPE_CHECKING"
    )


def _imports(
    node: ast.AST, in_function: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """(import node, made inside a function?) for every runtime import under `node`."""
    for child in ast.iter_child_nodes(node):
        if _type_checking(child):  # annotations only: never runs
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(child, inner)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def build(root: Path, package: str) -> Graph:
    """The import graph of `package` (a folder under `root`), migrations left out."""
    graph = Graph()
    paths = [p for p in (root / package).rglob("*.py") if "migrations" not in p.parts]
    graph.modules = {module_name(p, root) for p in paths}
    for path in paths:
        module = module_name(path, root)
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, module, path.name == "__init__.py"):
                if target.split(".")[0] in ("gateway", "bots"):
                    graph.outside.add((module, target.split(".")[0]))
                for name in _with_packages(target, module, graph.modules):
                    if in_function:
                        graph.lazy.add((module, name))
                    else:
                        graph.edges.setdefault(module, set()).add(name)
    return graph


def _with_packages(target: str, module: str, modules: set[str]) -> list[str]:
    """The module `target` names and the packages it initialises on the way (importing
    store.reset.lease runs store/reset/__init__.py first), less those already initialising
    because `module` is inside them."""
    parts = target.split(".")
    names = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
    return [n for n in names if n in modules and n != module and not module.startswith(n + ".")]


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules in order, the first repeated at the end), or []."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_store_has_no_import_cycle() -> None:
    cycle = find_cycle(build(ROOT, "store").edges)
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_store_imports_inside_functions_only_where_allowed() -> None:
    lazy = build(ROOT, "store").lazy
    assert sorted(lazy - set(ALLOWED)) == [], "an import inside a function: say why in ALLOWED"
    assert sorted(set(ALLOWED) - lazy) == [], "ALLOWED names an import that is no longer lazy"


def test_store_imports_nothing_from_gateway_or_bots() -> None:
    assert sorted(build(ROOT, "store").outside) == []


def test_the_check_finds_cycles_and_lazy_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import thing\n")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.thing import x\n")
    (pkg / "sub" / "thing.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n"
        "def f():\n    from pkg import b\nfrom . import other\nx = 1\n"
    )
    (pkg / "sub" / "other.py").write_text("import pkg.a\n")
    (pkg / "b.py").write_text("")
    graph = build(tmp_path, "pkg")
    assert graph.lazy == {("pkg.sub.thing", "pkg.b")}
    assert find_cycle(graph.edges) == [
        "pkg.a",
        "pkg.sub",
        "pkg.sub.thing",
        "pkg.sub.other",
        "pkg.a",
    ]
