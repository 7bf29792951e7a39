"""sm_constructs' modules import each other without cycles, at module level or inside functions.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` anywhere in
a module (inside functions too), resolved to the module or package it loads. Only the blocks under
``if TYPE_CHECKING:`` are left out: they name types for the checker and never run.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sm_constructs"
PACKAGE = "sm_constructs"


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """module name -> (file, the package its relative imports start from)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
            out[".".join(parts)] = (path, parts)
        else:
            out[".".join(parts)] = (path, parts[:-1])
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every import node, inside functions and classes too, except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST):
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def _owner(name: str) -> str | None:
    """The module (or package) of ours that ``name`` loads: the longest prefix that is one."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def import_graph() -> dict[str, frozenset[str]]:
    graph: dict[str, frozenset[str]] = {}
    for module, (path, package) in MODULES.items():
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(t for a in node.names if (t := _owner(a.name)))
                continue
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            source = ".".join(p for p in (base, node.module or "") if p)
            if not source.startswith(PACKAGE):
                continue
            for alias in node.names:  # `from pkg import module` loads the module, else the name's module
                target = f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else _owner(source)
                if target:
                    targets.add(target)
        targets.discard(module)
        graph[module] = frozenset(targets)
    return graph


def cycles(graph: dict[str, frozenset[str]] | dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_inside_functions():
    """The reader is not blind to the imports that hid the cycles: a function-level import is an edge."""
    graph = import_graph()
    assert "sm_constructs.local.cli.demo" in graph["sm_constructs.local.cli.main"]  # imported inside main()
    assert "sm_constructs.jobs._task" in graph["sm_constructs.jobs.cache"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder(graph, expected):
    assert cycles(graph) == expected


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_helpers_live_below_the_constructs_that_use_them():
    """ModelDeployment shares the notified workflow (key, topic, failure path, alarms) with MlPipeline
    from a module below both, which takes the topic's helpers from one below it."""
    graph = import_graph()
    assert "sm_constructs.pipeline" not in graph["sm_constructs.deployment"]
    assert {"sm_constructs._workflow"} <= graph["sm_constructs.deployment"] & graph["sm_constructs.pipeline"]
    assert "sm_constructs._notify" in graph["sm_constructs._workflow"] & graph["sm_constructs.jobs._base"]


def test_mypy_reads_every_aws_cdk_module_sm_constructs_imports():
    """pyproject.toml has mypy skip aws-cdk-lib's modules except those listed; the list is exactly the
    aws_cdk modules (and packages named in ``from aws_cdk import ...``) that sm_constructs imports,
    ``TYPE_CHECKING`` blocks included, so none of ours is checked against Any."""
    import importlib.util
    import tomllib

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    read = {m for o in config if o.get("follow_imports") == "normal" for m in o["module"]}
    assert {m for o in config if o.get("follow_imports") == "skip" for m in o["module"]} == {"aws_cdk.*"}
    imported = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names if a.name.split(".")[0] == "aws_cdk"}
            elif (
                isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "aws_cdk"
            ):
                imported.add(node.module)
                for alias in node.names:  # `from aws_cdk import aws_iam`: a module
                    if importlib.util.find_spec(f"{node.module}.{alias.name}") is not None:
                        imported.add(f"{node.module}.{alias.name}")
    assert imported, "no aws_cdk import found"
    assert read == imported, (
        f"missing from pyproject: {sorted(imported - read)}; no longer imported: {sorted(read - imported)}"
    )
