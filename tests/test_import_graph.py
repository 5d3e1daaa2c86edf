"""The import graph of ``lbdemo/``, read from the source: no cycle, and the layers hold.

Every ``import`` and ``from ... import`` counts, at module level or inside a function (a lazy
import hides a cycle, it does not remove it); only those under ``if TYPE_CHECKING:`` are aside,
since they never run. Relative imports are resolved, ``from pkg import submodule`` points at the
submodule, and a package's ``__init__`` is a module of its own (``lbdemo.report``).
The layers are those of the design (docs/architecture.md): an arrow points down only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lbdemo"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, except in the body of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                if isinstance(other, ast.Import | ast.ImportFrom):
                    yield other
                yield from _imports(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _targets(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: set[str]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in modules:
                yield alias.name
        return
    base = node.module or ""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        anchor = here[: len(here) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            yield submodule
        elif base in modules:
            yield base


@cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the lbdemo modules it imports."""
    files = {module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = {
            target
            for node in _imports(tree)
            for target in _targets(module, is_package, node, modules)
        }
        graph[module] = edges - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_is_read_from_the_source() -> None:
    """The reader sees what it must: lazy imports, relative ones, submodules, no TYPE_CHECKING."""
    graph = import_graph()
    assert "lbdemo.cli" in graph and "lbdemo.commands" in graph["lbdemo.cli"]
    assert "lbdemo.deploy.config" in graph["lbdemo.runtime.stack"]
    # `from lbdemo.docker import contract` points at the submodule, not the package
    assert "lbdemo.docker.contract" in graph["lbdemo.docker.entry"]


def test_the_reader_counts_lazy_and_relative_imports_and_skips_type_checking(
    tmp_path: Path,
) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n"
        "    from lbdemo.pkg import c\n"
        "else:\n"
        "    import lbdemo.pkg.d\n"
        "def f():\n"
        "    from .e import thing\n"
    )
    modules = {"lbdemo.pkg", "lbdemo.pkg.a", "lbdemo.pkg.b", "lbdemo.pkg.c", "lbdemo.pkg.d"}
    modules |= {"lbdemo.pkg.e"}
    found = {
        t for n in _imports(ast.parse(source)) for t in _targets("lbdemo.pkg.a", False, n, modules)
    }
    assert found == {"lbdemo.pkg.b", "lbdemo.pkg.d", "lbdemo.pkg.e"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_lbdemo() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _imports_of(package: str) -> set[tuple[str, str]]:
    """(module, what it imports) for every module of ``package`` (a package or one module)."""
    return {
        (module, target)
        for module, targets in import_graph().items()
        if module == package or module.startswith(package + ".")
        for target in targets
    }


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


GROUND = ["lbdemo.config", "lbdemo.errors", "lbdemo.files"]  # everyone may use them


def test_the_ground_floor_imports_nothing_of_lbdemo_above_it() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for floor in GROUND
        for module, target in _imports_of(floor)
        if not any(_under(target, g) for g in GROUND)
    )
    assert upward == []


# (lower layer, what it must never import): an arrow points down only
LAYERS = [
    ("lbdemo.sweep", ["lbdemo.commands"]),
    ("lbdemo.demo", ["lbdemo.commands", "lbdemo.sweep"]),
    ("lbdemo.dashboard", ["lbdemo.commands", "lbdemo.demo"]),
    ("lbdemo.faults", ["lbdemo.commands", "lbdemo.demo"]),
    (
        "lbdemo.deploy",
        ["lbdemo.commands", "lbdemo.demo", "lbdemo.dashboard", "lbdemo.runtime", "lbdemo.docker"],
    ),
    ("lbdemo.runtime", ["lbdemo.commands", "lbdemo.demo", "lbdemo.docker"]),
    ("lbdemo.docker", ["lbdemo.commands", "lbdemo.demo", "lbdemo.runtime"]),
    ("lbdemo.checker", ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy", "lbdemo.report"]),
    ("lbdemo.report", ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy", "lbdemo.sweep"]),
    # other tools' histories: read into lbdemo's History, below the checker and the reports
    (
        "lbdemo.interop",
        ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy", "lbdemo.checker", "lbdemo.report"],
    ),
    ("lbdemo.balancer", ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy"]),
    ("lbdemo.replica", ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy"]),
    ("lbdemo.store", ["lbdemo.commands", "lbdemo.demo", "lbdemo.deploy"]),
]


@pytest.mark.parametrize(("lower", "above"), LAYERS, ids=[lower for lower, _ in LAYERS])
def test_a_layer_imports_nothing_above_it(lower: str, above: list[str]) -> None:
    assert any(_under(m, lower) for m in import_graph()), f"{lower} is not in lbdemo/"
    upward = sorted(
        f"{module} -> {target}"
        for module, target in _imports_of(lower)
        if any(_under(target, a) for a in above) and not _under(target, lower)
    )
    assert upward == [], f"{lower} imports from a layer above it"


def test_the_pipeline_asks_the_deployment_not_its_class() -> None:
    """The Deployment protocol says what a run needs: no isinstance, no getattr on the stack."""
    source = (ROOT / PACKAGE / "demo" / "pipeline.py").read_text()
    assert "isinstance(stack" not in source and "getattr(stack" not in source


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between lbdemo's packages (a top-level module counts as its own folder)."""
    folders: dict[str, set[str]] = {}
    for module, targets in graph.items():
        for target in targets:
            here, there = module.split(".")[:2], target.split(".")[:2]
            if here != there:
                folders.setdefault(".".join(here), set()).add(".".join(there))
    return folders


def test_folder_graph_of_a_cycle_between_two_packages() -> None:
    graph = {"lbdemo.a.x": {"lbdemo.b.y"}, "lbdemo.b.z": {"lbdemo.a.w"}}
    assert find_cycle(folder_graph(graph)) == ["lbdemo.a", "lbdemo.b", "lbdemo.a"]


def test_no_cycle_between_packages() -> None:
    """Stricter than no cycle between modules: the packages themselves form layers, so a reader
    can learn one folder at a time from the bottom (deploy/ below runtime/ and docker/, the
    opener in stacks/ above them)."""
    cycle = find_cycle(folder_graph(import_graph()))
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or [])


def test_the_runtime_uses_only_the_fault_proxy_and_it_imports_nothing_of_lbdemo() -> None:
    """The regions' link (runtime/regions.py) and the stores' delayed links (store/) are the
    fault proxy, which lives in process/ and imports nothing of lbdemo; faults/ (the nemesis,
    which drives a stack) stays above the runtime and the stores."""
    for below in ("lbdemo.runtime", "lbdemo.store"):
        assert not {t for _, t in _imports_of(below) if _under(t, "lbdemo.faults")}, below
    assert {t for _, t in _imports_of("lbdemo.process.proxy") if _under(t, "lbdemo")} == set()
