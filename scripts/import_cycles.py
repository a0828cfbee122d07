"""Print the file-level import cycles of mloop, counting imports inside functions.

import-linter sees package-level layers; this sees modules. A cycle between two files is hidden
when one side imports inside a function (it works, until someone moves that import to the top or
a third module imports them in the other order). Imports under `if TYPE_CHECKING:` are left out
(they never run). Exit status 1 when there is a cycle, so CI can hold the count at zero.

    .venv/bin/python scripts/import_cycles.py [--src src] [--package mloop]
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path


def module_files(src: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every module of `package` under `src`."""
    out: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module of the package, line, inside a function) for each runtime import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if (target := resolve(alias.name)) is not None:
                        found.append((target, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    target = resolve(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else resolve(base)
                    if target is not None:
                        found.append((target, child.lineno, in_function))
            visit(child, local)

    visit(tree, False)
    return [(t, line, local) for t, line, local in found if t != module]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--package", default="mloop")
    args = parser.parse_args(argv)
    modules = module_files(Path(args.src), args.package)
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)
    for name, path in modules.items():
        graph[name]
        for target, line, local in imports(name, path, modules):
            graph[name].add(target)
            where[(name, target)].append((line, local))
    cycles = strongly_connected(graph)
    for component in cycles:
        members = set(component)
        print(f"cycle of {len(component)} modules: {', '.join(component)}")
        for source in component:
            for target in sorted(graph[source] & members):
                lines = ", ".join(f"l.{line}{' (in a function)' if local else ''}"
                                  for line, local in sorted(set(where[(source, target)])))
                print(f"    {source} -> {target}  {lines}")
    print(f"{len(cycles)} file-level import cycle(s) in {args.package}, counting imports inside functions")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
