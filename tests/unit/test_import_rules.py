"""The layout's rules, read from the imports (every import counts: top level, typing-only, lazy).

- Only the CLI imports the composition root (`edge_agent.runtime.agent`): the page, the commands,
  the firmware upgrade and the local socket get narrow handles, never the agent.
- No import circle between modules, nor between packages (`runtime`, `health`, `devices`, ...):
  the composition root with the modules only it uses, and the command-line entry points, sit on
  top (they may import any package; no package imports them); below them packages form layers.
- Every `noqa` and `type: ignore` says why.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import edge_agent

PACKAGE_DIR = Path(edge_agent.__file__).parent
ROOT = "edge_agent.runtime.agent"
MAY_IMPORT_ROOT = {"edge_agent.cli"}
NARROW = ("edge_agent.diagnostics", "edge_agent.commands", "edge_agent.firmware", "edge_agent.local")
# The top: the root and the parts it builds the agent from (they import every package by design).
WIRING = {
    ROOT,
    *(
        f"edge_agent.runtime.{name}"
        for name in (
            "parts",
            "presence",
            "local_view",
            "command_replies",
            "ledger_meta",
            "config_reload",
            "figures",
        )
    ),
}
ENTRY_POINTS = ("cli", "user_cli", "cli_help", "__main__")  # command lines: edge_agent.cli, health.cli, ...


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["edge_agent", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path, known: set[str]) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [_member_or(base, alias.name, known) for alias in node.names]
        else:
            continue
        yield from (name for name in names if name in known and name != module)


def _member_or(base: str, name: str, known: set[str]) -> str:
    """`from package import module` names the module; `from module import thing`, the module."""
    return f"{base}.{name}" if f"{base}.{name}" in known else base


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {module: set(_imported(module, path, known)) for module, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                    found.append(sorted(component))
    return found


def test_only_the_cli_imports_the_composition_root() -> None:
    graph = _graph()
    importers = sorted(module for module, imported in graph.items() if ROOT in imported)
    assert set(importers) <= MAY_IMPORT_ROOT, importers


def test_narrow_packages_do_not_reach_the_composition_root() -> None:
    graph = _graph()
    for module in (m for m in graph if m.startswith(NARROW)):
        seen, todo = set(), [module]
        while todo:
            current = todo.pop()
            assert current != ROOT, f"{module} reaches {ROOT} through its imports"
            todo.extend(graph[current] - seen)
            seen.update(graph[current])


def test_no_import_circle() -> None:
    assert _cycles(_graph()) == []


def _on_top(module: str) -> bool:
    return module in WIRING or module.rpartition(".")[2] in ENTRY_POINTS


def _package(module: str) -> str:
    """`edge_agent.runtime.emitter` -> `edge_agent.runtime`; a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Packages below the top, each importing the packages its modules import."""
    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        if _on_top(module):
            continue
        below = {_package(other) for other in imported if not _on_top(other)}
        packages.setdefault(_package(module), set()).update(below - {_package(module)})
    for targets in list(packages.values()):
        for target in targets:
            packages.setdefault(target, set())
    return packages


def test_nothing_below_imports_the_top() -> None:
    graph = _graph()
    upward = sorted(
        f"{module} -> {other}"
        for module, imported in graph.items()
        if not _on_top(module)
        for other in imported
        if _on_top(other)
    )
    assert upward == [], upward


def test_no_import_circle_between_packages() -> None:
    assert _cycles(_package_graph(_graph())) == []


def test_the_package_rule_sees_a_circle() -> None:
    """`health` importing the runtime's emitter would close a circle: the runtime imports health."""
    graph = _graph()
    graph["edge_agent.health.tracker"] = graph["edge_agent.health.tracker"] | {"edge_agent.runtime.emitter"}
    assert ["edge_agent.health", "edge_agent.runtime"] in _cycles(_package_graph(graph))


def test_the_rules_see_a_circle_and_a_root_import() -> None:
    """The checks themselves work: a made-up circle and a made-up root import are caught."""
    graph = _graph()
    graph["edge_agent.diagnostics.view"] = graph["edge_agent.diagnostics.view"] | {ROOT}
    graph[ROOT] = graph[ROOT] | {"edge_agent.diagnostics.view"}
    assert any(ROOT in cycle for cycle in _cycles(graph))
    assert "edge_agent.diagnostics.view" in {m for m, imported in graph.items() if ROOT in imported}


SUPPRESSION = re.compile(r"#\s*(type:\s*ignore(\[[^\]]*\])?|noqa(:\s*[A-Z0-9, ]+)?)(?P<rest>.*)$")


def test_every_suppression_carries_a_reason() -> None:
    """A `noqa` or `type: ignore` says why (`# type: ignore[x]  # why`, `# noqa: X - why`)."""
    bare = []
    for folder in ("edge_agent", "tests", "benchmarks", "hil_tests", "firmware_hooks"):
        for path in (PACKAGE_DIR.parent / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = SUPPRESSION.search(line)
                if match and not match.group("rest").strip(" -#:"):
                    bare.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{number}")
    assert bare == [], bare


def test_no_fire_and_forget_task_helper_outside_the_spawner() -> None:
    """The agent starts tasks from callbacks through `runtime/tasks.Spawner` (the one TaskGroup):
    no module keeps its own set of tasks that forget themselves when done. Simulators are tools."""
    helpers = sorted(
        module
        for module, path in _modules().items()
        if module != "edge_agent.runtime.tasks"
        and not module.startswith("edge_agent.simulators")
        and re.search(r"add_done_callback\([\w.]*\.discard\)", path.read_text(encoding="utf-8"))
    )
    assert helpers == [], helpers
