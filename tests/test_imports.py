"""The package's import graph: no cycles, and dependencies point down the layers."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIVE = ROOT / "live"

# Lower layers may not import upper ones (live.cli and live.tools sit on top of everything).
LAYERS = ["domain", "store", "realtime", "web", "reports"]
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "store": {"domain", "store"},
    "reports": {"domain", "store", "reports"},
    "realtime": {"domain", "store", "realtime"},
    "web": {"domain", "store", "realtime", "reports", "web"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph(include_type_checking: bool = True) -> dict[str, set[str]]:
    """Module -> the live modules it imports (at any depth in the file, lazy imports included)."""
    modules = {_module(p): p for p in LIVE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            deps |= {t for t in targets if t in modules and t != name and t != "live"}
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan, iterative enough for us)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_scan_sees_imports() -> None:
    graph = _graph()
    assert "live.store.writer" in graph["live.web.app"]
    assert "live.domain.errors" in graph["live.domain.phases"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_live() -> None:
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles (TYPE_CHECKING and lazy imports count): {cycles}"


def test_dependencies_point_down_the_layers() -> None:
    wrong = []
    for mod, deps in _graph().items():
        parts = mod.split(".")
        if len(parts) < 3 or parts[1] not in ALLOWED:
            continue
        for dep in deps:
            layer = dep.split(".")[1] if dep.count(".") >= 1 else ""
            if layer in LAYERS and layer not in ALLOWED[parts[1]]:
                wrong.append(f"{mod} -> {dep}")
    assert not wrong, wrong


def test_the_writer_does_not_pull_in_the_report_renderers() -> None:
    import subprocess
    import sys

    code = ("import sys, live.store.writer; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'reportlab', 'docx', 'openpyxl'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stdout
