"""Layering: the console knows nothing of the server, the Live app knows nothing of the
console, and server/ and console/ import each other in no cycle. Every import counts,
those under ``TYPE_CHECKING`` and inside functions included (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import openlive

ROOT = Path(openlive.__file__).parent
COMPOSITION_ROOT = "openlive.server.run"  # the one module that puts server and console together


def module_name(path: Path) -> str:
    parts = ("openlive",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The openlive modules that module ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (
                node.module or "")
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES}


def under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_console_imports_nothing_of_the_server():
    for name in MODULES:
        if under(name, "openlive.console"):
            higher = {m for m in imports(name) if under(m, "openlive.server")
                      or under(m, "openlive.engines") or under(m, "openlive.client")}
            assert not higher, (name, higher)


def test_only_the_composition_root_imports_the_console():
    for name in MODULES:
        if under(name, "openlive.server") and name != COMPOSITION_ROOT:
            console = {m for m in imports(name) if under(m, "openlive.console")}
            assert not console, (name, console)


def test_no_import_cycle_among_server_and_console():
    scope = {m for m in MODULES if under(m, "openlive.server") or under(m, "openlive.console")}
    graph = {m: imports(m) & scope for m in scope}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(
                path[path.index(module):] + [module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(scope):
        visit(module, [])
