"""The structure budget the lint step enforces (``tox -e imports``).

- No import cycle inside ``harness``, ``mock_idp`` or ``reference_sp``: imports made only for
  type checking count too, since a cycle of knowledge is a cycle all the same.
- In the components (``mock_idp``, ``reference_sp``), no function over 80 lines and no class
  over 300: a route, a handler or a service that grows past that is doing two jobs.

Prints each breach as ``path:line: message`` and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

PACKAGES = ("harness", "mock_idp", "reference_sp")
SIZED_PACKAGES = ("mock_idp", "reference_sp")
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 300
ROOT = Path(__file__).resolve().parent.parent


def import_cycles(package: str) -> list[list[str]]:
    """Strongly connected components of more than one module among the package's imports."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False)
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan; the graphs are a few hundred modules deep at most
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def oversized(package: str, root: Path = ROOT) -> list[str]:
    breaches = []
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit, kind = MAX_FUNCTION_LINES, "function"
            elif isinstance(node, ast.ClassDef):
                limit, kind = MAX_CLASS_LINES, "class"
            else:
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                where = path.relative_to(root)
                breaches.append(
                    f"{where}:{node.lineno}: {kind} {node.name} is {length} lines (at most {limit})"
                )
    return breaches


def main() -> int:
    sys.path.insert(0, str(ROOT))
    breaches = []
    for package in PACKAGES:
        for cycle in import_cycles(package):
            breaches.append(f"{package}: import cycle {' -> '.join(cycle)}")
    for package in SIZED_PACKAGES:
        breaches.extend(oversized(package))
    for breach in breaches:
        print(breach)
    if not breaches:
        print(f"structure: no import cycle in {', '.join(PACKAGES)}; sizes within budget")
    return 1 if breaches else 0


if __name__ == "__main__":
    raise SystemExit(main())
