"""The layout's rules, checked by walking every import (module level and inside functions):

- no package imports a command-line module (main_thread.py, detect_image.py, detect_video.py,
  deepfake_scanner.cli), tools/ or tests/;
- no import cycle between modules;
- no import cycle between packages, a package being one folder's own modules (so
  ``cnn_detector.training`` is a package apart from ``cnn_detector``: training uses the scanner's
  engine, which uses the detectors, never the other way);
- the layers go one way: cnn_detector <- rnn_judge <- deepfake_scanner <- training <- evaluation studies.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cnn_detector", "rnn_judge", "deepfake_scanner", "deepfake_evaluation")
CLI_MODULES = ("main_thread", "detect_image", "detect_video", "deepfake_scanner.cli", "tools", "tests")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere in its code (``from a.b import c`` counts as
    a.b.c when c is a module, else as a.b)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES + ("tools", "tests") or name in CLI_MODULES}


def package_of(module: str, modules: dict[str, Path]) -> str:
    return module if modules[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], dict[str, set[str]]]:
    modules = project_modules()
    known = set(modules)
    edges = {}
    for name, path in modules.items():
        resolved = set()
        for imported in imports_of(path, known):
            while imported not in known and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            resolved.add(imported)
        edges[name] = resolved - {name}
    return modules, edges


def test_the_walk_sees_the_packages(graph):
    modules, edges = graph
    expected = {"deepfake_scanner.scanner", "deepfake_scanner.engine", "cnn_detector.frozen_graph", "rnn_judge.judge"}
    assert expected <= set(modules)
    assert "cnn_detector.frozen_graph" in edges["deepfake_scanner.engine"]


def test_no_package_imports_a_cli_tools_or_tests(graph):
    modules, edges = graph
    bad = []
    for name, imported in edges.items():
        if name.startswith("deepfake_scanner.cli"):
            continue
        for target in imported:
            if any(target == cli or target.startswith(cli + ".") for cli in CLI_MODULES):
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(bad)


def test_no_module_cycle(graph):
    _, edges = graph
    assert strongly_connected(edges) == []


def test_no_package_cycle(graph):
    modules, edges = graph
    packages: dict[str, set[str]] = {}
    for name, imported in edges.items():
        source = package_of(name, modules)
        targets = packages.setdefault(source, set())
        targets.update(package_of(t, modules) for t in imported if t in modules)
        targets.discard(source)
    assert strongly_connected(packages) == []


@pytest.mark.parametrize(
    "lower, upper",
    [
        ("cnn_detector", "rnn_judge"),
        ("cnn_detector", "deepfake_scanner"),
        ("rnn_judge", "deepfake_scanner"),
        ("deepfake_scanner", "cnn_detector.training"),
        ("deepfake_scanner", "rnn_judge.training"),
        ("cnn_detector.training", "deepfake_evaluation.studies"),
    ],
)
def test_layers_go_one_way(graph, lower, upper):
    """Nothing in ``lower`` (its own modules, not its sub-packages) imports from ``upper``."""
    modules, edges = graph
    for name, imported in edges.items():
        if package_of(name, modules) != lower:
            continue
        wrong = [t for t in imported if t == upper or t.startswith(upper + ".")]
        assert not wrong, f"{name} imports {wrong}"
