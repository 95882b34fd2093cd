"""The import graph of ``verify/``: measure, then judge, with no cycle (issue 11, constraints).

Every module of the package is parsed with :mod:`ast`; *every* import statement counts, at the top
of the module, inside functions and under ``if TYPE_CHECKING:`` alike (a function-level import is a
cycle postponed to run time, not a cycle removed). ``from .x import y``, ``from ..x import y``,
``from . import x``, ``from verify.x import y`` and ``import verify.x`` are resolved to the modules
of the package; importing ``verify.a.b`` also depends on the package ``verify.a`` (its ``__init__``
runs first), except from inside ``verify.a`` (a module's own packages are initialised before it).

Classification (:mod:`verify.fixed_points`) measures and classifies; judging the propositions
(:mod:`verify.point_checks`) and certifying (:mod:`verify.certify`) take a classification. So
``point_checks → fixed_points`` and ``certify → fixed_points`` are fine, and ``fixed_points`` imports
neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

import verify

PACKAGE = Path(verify.__file__).parent

#: the imports (both function-level) that close the two cycles existing today outside the three modules of
#: issue 11; without them the graph must be acyclic. An entry may be dropped once its cycle is removed.
#: * the sweep's ``run_sweep`` borrows the worker pool's helpers from the runner, whose ``estimate_seconds``
#:   asks the sweep for a sweep case's estimate;
#: * the plugin registry: ``registry.get()`` imports ``verify.propositions``, whose modules call
#:   ``registry.register`` (and runner → registry, h2_h3_hierarchy → sweep join the two cycles into one
#:   strongly connected component).
KNOWN_BACK_EDGES = {("verify.sweep", "verify.runner"), ("verify.registry", "verify.propositions")}

MEASURE_JUDGE_CERTIFY = {"verify.fixed_points", "verify.point_checks", "verify.certify"}


def module_name(path: Path) -> str:
    parts = ("verify",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (source ``source``) imports, at any depth of its body."""
    package = name if is_package else name.rpartition(".")[0]
    parts_of_name = name.split(".")
    own_packages = {".".join(parts_of_name[:k]) for k in range(1, len(parts_of_name))}
    found: set[str] = set()

    def add(dotted: str) -> None:
        parts = dotted.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            prefix = ".".join(parts[:k])
            if prefix in known and prefix not in own_packages:
                found.add(prefix)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            add(origin)
            for alias in node.names:
                add(f"{origin}.{alias.name}")
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imported(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)
            for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
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
            v, edges = work[-1]
            for w in edges:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.add(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        out.append(frozenset(component))
    return out


def path_between(graph, start: str, goal: str) -> list[str] | None:
    """A shortest import chain ``start → … → goal`` (breadth first), for the failure message."""
    previous = {start: None}
    queue = [start]
    for v in queue:
        for w in sorted(graph[v]):
            if w not in previous:
                previous[w] = v
                queue.append(w)
    if goal not in previous:
        return None
    chain = [goal]
    while chain[-1] != start:
        chain.append(previous[chain[-1]])
    return chain[::-1]


def test_the_parser_sees_imports_inside_functions_and_every_form():
    known = {"verify", "verify.a", "verify.b", "verify.c", "verify.d", "verify.sub", "verify.sub.e", "verify.f"}
    source = """
from .a import x
import verify.f
def g():
    from . import b
    if True:
        from verify.c import y
class K:
    def h(self):
        from .sub import e
"""
    assert imported(source, "verify.m", False, known) == {"verify.a", "verify.b", "verify.c", "verify.f",
                                                         "verify.sub", "verify.sub.e"}
    nested = imported("from ..d import z\nfrom . import e\n", "verify.sub.x", False, known)
    assert nested == {"verify.d", "verify.sub.e"}
    assert imported("from . import e\n", "verify.sub", True, known) == {"verify.sub.e"}
    assert imported("from .sub import e\n", "verify", True, known) == {"verify.sub", "verify.sub.e"}


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e", "d"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert path_between(graph, "d", "c") == ["d", "a", "b", "c"]


def test_the_graph_covers_the_package():
    graph = import_graph()
    assert MEASURE_JUDGE_CERTIFY <= set(graph) and "verify.propositions.s2_spurious" in graph
    # an edge made only inside a function (classify_document) is found
    assert "verify.fixed_points" in graph["verify.commands"]


def test_measure_then_judge_imports_run_one_way():
    graph = import_graph()
    for judge in ("verify.point_checks", "verify.certify"):
        chain = path_between(graph, "verify.fixed_points", judge)
        assert chain is None, f"classification imports the judging side: {' → '.join(chain)}"
    chain = path_between(graph, "verify.certify", "verify.point_checks")
    assert chain is None, f"certificates import the judging module: {' → '.join(chain)}"
    for component in cycles(graph):
        assert not component & MEASURE_JUDGE_CERTIFY, f"import cycle through {sorted(component)}"


def test_no_import_cycle_beyond_the_known_ones():
    graph = import_graph()
    for source, target in KNOWN_BACK_EDGES:
        graph[source] = graph[source] - {target}
    new = [sorted(c) for c in cycles(graph)]
    assert not new, f"new import cycles in verify/ (function-level imports included): {new}"
