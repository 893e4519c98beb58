"""Lotse's dependencies point one way: ``python tests/check_imports.py`` (run by ``make lint``).

The contract, bottom first (docs/architecture.md explains why):

    lotse  <  directory  <  partners  <  referrals  <  findings  <  insights  <  privacy

and inside the directory  search  <  upkeep  <  interop.  A module may import what is below
it or beside it, never what is above. Only the entry points (ENTRY_POINTS: the app factory,
the CLI and the ASGI entry) wire the domains together; nothing imports them.

The check reads every import of every module of the five packages, those inside functions
included, resolves each to a file, and fails with a message naming the files and lines on

- a cycle of files (a imports b imports … a);
- a cycle of packages: among the children of one package (its modules and sub-packages, a
  sub-package standing for every file under it) no two may reach each other, so
  ``directory.search`` and ``directory.upkeep`` are packages as much as ``partners`` is;
- an import against the order below, of an entry point, or of a module that does not exist.

Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` too; those implicit imports
are not counted (keep ``__init__.py`` files small), the explicit ones in them are.

``--mermaid`` prints the package picture of docs/architecture.md instead: one node per package
(a package with sub-packages as a box of its modules and sub-packages), an arrow for "imports",
arrows implied by others left out.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each package's ordered children, bottom first: a child may import only children listed
# before it. Children left out of a list are bound by the cycle rules alone.
LAYERS: dict[str, list[str]] = {
    "": ["lotse", "directory", "partners", "referrals", "findings", "insights", "privacy"],
    "directory": ["search", "upkeep", "interop"],
}
ENTRY_POINTS = frozenset({"lotse.app", "lotse.cli", "lotse.asgi"})
# Imports that still break the rules, each with the change that removes it. The check ignores
# them and fails once one is gone, so that this list only ever shrinks.
KNOWN: dict[tuple[str, str], str] = {}
ENTRY_NODE = "entry points"


@dataclass(frozen=True)
class Module:
    name: str  # dotted, a package by its own name
    path: Path  # relative to the root of the tree
    is_package: bool

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def place(self) -> tuple[str, ...]:
        """Where the module sits in the tree: a package's own file as its child ``__init__``."""
        parts = tuple(self.name.split("."))
        return (*parts, "__init__") if self.is_package else parts


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


@dataclass
class Graph:
    root: Path
    modules: dict[str, Module]
    imports: dict[tuple[str, str], Import] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    known: set[tuple[str, str]] = field(default_factory=set)

    def targets(self, name: str) -> list[str]:
        return sorted(target for source, target in self.imports if source == name)

    def where(self, source: str, target: str) -> str:
        found = self.imports[source, target]
        return f"{self.modules[source].path}:{found.line} imports {target}"


def discover(root: Path = ROOT) -> dict[str, Module]:
    modules = {}
    for package in LAYERS[""]:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            parts = relative.with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = Module(name=name, path=relative, is_package=is_package)
    return modules


def _resolve(module: Module, node: ast.Import | ast.ImportFrom) -> list[tuple[str, ...]]:
    """What each name of an import statement may be, most precise first: ``import a.b`` is the
    module a.b; ``from a import b`` is the module a.b or a name defined in a."""
    if isinstance(node, ast.Import):
        return [(alias.name,) for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.package.split(".")
        kept = package[: len(package) - node.level + 1]
        base = ".".join([*kept, base] if base else kept)
    return [
        (f"{base}.{alias.name}", base) if alias.name != "*" else (base,) for alias in node.names
    ]


def read(root: Path = ROOT) -> Graph:
    modules = discover(root)
    graph = Graph(root=root, modules=modules)
    ours = tuple(LAYERS[""])
    for module in modules.values():
        try:
            tree = ast.parse((root / module.path).read_text(encoding="utf-8"), str(module.path))
        except SyntaxError as error:
            graph.problems.append(f"{module.path} cannot be read: {error}")
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for candidates in _resolve(module, node):
                if candidates[0].split(".")[0] not in ours:
                    continue
                target = next((name for name in candidates if name in modules), None)
                if target is None:
                    graph.problems.append(
                        f"{module.path}:{node.lineno} imports {candidates[0]}, "
                        "which is no module of Lotse"
                    )
                elif (module.name, target) in KNOWN:
                    graph.known.add((module.name, target))
                elif target != module.name and (module.name, target) not in graph.imports:
                    graph.imports[module.name, target] = Import(module.name, target, node.lineno)
    return graph


def strongly_connected(nodes: Iterable[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; the components with more than one node, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for following in sorted(edges.get(node, ())):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in on_stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return sorted(found)


def a_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One closed path through a strongly connected component, from its first node."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for following in sorted(edges.get(node, set()) & members):
            if following == start:
                return [*paths[node], start]
            if following not in paths:
                paths[following] = [*paths[node], following]
                queue.append(following)
    raise AssertionError("a strongly connected component without a cycle")


@dataclass
class Level:
    """The children of one package and which of them import which, with one example each."""

    package: str
    edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    examples: dict[tuple[str, str], list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    children: set[str] = field(default_factory=set)


def _label(package: str, child: str) -> str:
    return f"{package}.{child}" if package else child


def levels(graph: Graph) -> dict[str, Level]:
    """Every package's children and the imports between them; the entry points stand apart."""
    found: dict[str, Level] = {}

    def level(package: str) -> Level:
        return found.setdefault(package, Level(package))

    for module in graph.modules.values():
        if module.name in ENTRY_POINTS:
            continue
        place = module.place
        for depth in range(len(place)):
            level(".".join(place[:depth])).children.add(place[depth])
    for (source, target), _ in sorted(graph.imports.items()):
        if source in ENTRY_POINTS or target in ENTRY_POINTS:
            continue
        here, there = graph.modules[source].place, graph.modules[target].place
        depth = 0
        while here[depth] == there[depth]:
            depth += 1
        shared = level(".".join(here[:depth]))
        step = (here[depth], there[depth])
        shared.edges[step[0]].add(step[1])
        shared.examples[step].append((source, target))
    return found


def problems(graph: Graph) -> list[str]:
    found = list(graph.problems)
    found.extend(
        f"{source} no longer imports {target}: take it out of KNOWN in {__file__}"
        for source, target in sorted(KNOWN.keys() - graph.known)
    )
    files: dict[str, set[str]] = defaultdict(set)
    for source, target in graph.imports:
        files[source].add(target)
    for component in strongly_connected(graph.modules, files):
        cycle = a_cycle(component, files)
        steps = "\n".join(f"    {graph.where(a, b)}" for a, b in pairwise(cycle))
        found.append(f"Cycle of files {' -> '.join(cycle)}:\n{steps}")
    for source, target in sorted(graph.imports):
        if target in ENTRY_POINTS and source not in ENTRY_POINTS:
            found.append(
                f"{graph.where(source, target)}: only the entry points "
                f"({', '.join(sorted(ENTRY_POINTS))}) import an entry point"
            )
    for package, level in sorted(levels(graph).items()):
        for component in strongly_connected(level.children, level.edges):
            inner = (graph.modules.get(_label(package, child)) for child in component)
            if not any(module is not None and module.is_package for module in inner):
                continue  # modules only: a cycle of files, reported above
            cycle = a_cycle(component, level.edges)
            steps = "\n".join(
                f"    {graph.where(*level.examples[a, b][0])}" for a, b in pairwise(cycle)
            )
            names = " -> ".join(_label(package, child) for child in cycle)
            found.append(f"Cycle of packages {names}:\n{steps}")
        order = LAYERS.get(package)
        if order is None:
            continue
        rank = {child: number for number, child in enumerate(order)}
        for (source, target), examples in sorted(level.examples.items()):
            if source in rank and target in rank and rank[target] > rank[source]:
                found.extend(
                    f"{graph.where(*example)}: {_label(package, source)} is below "
                    f"{_label(package, target)} ({' < '.join(order)}) and may not import it"
                    for example in examples
                )
    return found


def _reduced(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The arrows not implied by a longer path (the transitive reduction of an acyclic graph)."""

    def reaches(start: str, goal: str, skipping: tuple[str, str]) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for following in edges.get(node, ()):
                if (node, following) == skipping or following in seen:
                    continue
                if following == goal:
                    return True
                seen.add(following)
                todo.append(following)
        return False

    return {
        source: {target for target in targets if not reaches(source, target, (source, target))}
        for source, targets in edges.items()
    }


def mermaid(graph: Graph) -> str:
    """The package picture: a package with sub-packages is a box of its modules and packages."""
    found = levels(graph)
    boxes = {"", *(name for name in found if any(o.startswith(f"{name}.") for o in found if name))}

    def node_id(name: str) -> str:
        return name.replace(".", "_")

    def label(name: str) -> str:
        last = name.rpartition(".")[2]
        return f"{last}/" if name in found else f"{last}.py"

    lines = ["flowchart TB", f'  entry["{ENTRY_NODE}: {", ".join(sorted(ENTRY_POINTS))}"]']

    def draw(package: str, indent: str) -> None:
        level = found[package]
        linked = {child for step in level.examples for child in step}
        for child in sorted(level.children):
            name = _label(package, child)
            if child == "__init__" and child not in linked:
                continue
            if name in boxes:
                lines.append(f'{indent}subgraph {node_id(name)}["{label(name)}"]')
                draw(name, indent + "  ")
                lines.append(f"{indent}end")
            else:
                lines.append(f'{indent}{node_id(name)}["{label(name)}"]')

    draw("", "  ")
    wired = {
        graph.modules[target].place[0]
        for source, target in graph.imports
        if source in ENTRY_POINTS and target not in ENTRY_POINTS
    }
    lines.extend(f"  entry --> {node_id(name)}" for name in sorted(wired))
    for package in sorted(boxes):
        for source, targets in sorted(_reduced(found[package].edges).items()):
            lines.extend(
                f"  {node_id(_label(package, source))} --> {node_id(_label(package, target))}"
                for target in sorted(targets)
            )
    return "\n".join(lines) + "\n"


def main(arguments: list[str]) -> int:
    graph = read()
    if arguments == ["--mermaid"]:
        sys.stdout.write(mermaid(graph))
        return 0
    if arguments:
        sys.stderr.write(f"usage: python {Path(__file__).name} [--mermaid]\n")
        return 2
    found = problems(graph)
    for problem in found:
        print(problem)
    if found:
        print(f"\n{len(found)} import problem(s); the contract is at the top of {__file__}.")
        return 1
    print(f"Imports point one way: {len(graph.modules)} modules, {len(graph.imports)} imports.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
