"""The house's layering rules (ARCHITECTURE.md, "Layers"), read from the source's imports:
storage imports none of the others, recorder and verifier never import each other,
nothing imports packseal, no import cycle at module level, and no module-level ``cv2`` in
the verifier outside its replay, sheet, claim, frames and video modules (a reviewer's
``verify`` runs without OpenCV). A failure names the module, its line and the import."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of the four (itself aside).
MAY_IMPORT = {
    "storage": set(),
    "recorder": {"storage"},
    "verifier": {"storage"},
    "packseal": {"storage", "recorder", "verifier"},
}
# Verifier modules that may load OpenCV as they are imported: none of them is on verify's path.
CV2_ALLOWED = re.compile(r"replay|sheet|claim|frames|video")


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module
    line: int
    target: str  # the module imported (a package's submodule when one is named)
    top_level: bool  # runs as the module is imported (not in a function, not TYPE_CHECKING)

    def __str__(self) -> str:
        path = _modules()[self.module].relative_to(ROOT)
        where = "at module level" if self.top_level else "in a function or for type checking"
        return f"{path}:{self.line} imports {self.target} ({where})"


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(nodes: Iterable[ast.AST], top_level: bool) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement under ``nodes``, and whether it runs at import time."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, top_level
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.If) and _type_checking(node):
            yield from _walk(node.body, False)
            yield from _walk(node.orelse, top_level)
        else:  # if/try/with/class bodies run as the module is imported
            yield from _walk(ast.iter_child_nodes(node), top_level)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if _modules()[module].name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


@cache
def _imports() -> tuple[Import, ...]:
    found = []
    modules = _modules()
    for module, path in modules.items():
        for node, top_level in _walk(ast.parse(path.read_text()).body, True):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                base = _resolve(module, node)
                # `from storage import merkle` imports the submodule storage.merkle
                named = (f"{base}.{a.name}" for a in node.names)
                targets = list(dict.fromkeys(n if n in modules else base for n in named))
            found += [Import(module, node.lineno, t, top_level) for t in targets]
    return tuple(found)


def _package(name: str) -> str:
    return name.split(".")[0]


def test_each_layer_imports_only_the_layers_below() -> None:
    """Lazy imports count too: a function's import is still a dependency."""
    broken = [
        str(i)
        for i in _imports()
        if _package(i.target) in MAY_IMPORT
        and _package(i.target) != _package(i.module)
        and _package(i.target) not in MAY_IMPORT[_package(i.module)]
    ]
    assert not broken, (
        "imports against the layers (ARCHITECTURE.md: storage imports none of the others, "
        "recorder and verifier never import each other, nothing imports packseal):\n"
        + "\n".join(broken)
    )


def test_no_import_cycle_at_module_level() -> None:
    """Module-level imports only: a cycle broken by a function's import is how to break one."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    first: dict[tuple[str, str], Import] = {}
    for i in _imports():
        if i.top_level and i.target in modules and i.target != i.module:
            graph[i.module].add(i.target)
            first.setdefault((i.module, i.target), i)
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, "module-level import cycles (break one with a function's import):\n" + (
        "\n".join(
            "cycle: "
            + ", ".join(c)
            + "\n  "
            + "\n  ".join(str(first[a, b]) for a in c for b in sorted(graph[a]) if b in c)
            for c in cycles
        )
    )


def test_the_verifier_loads_opencv_only_where_it_draws() -> None:
    loaded = [
        str(i)
        for i in _imports()
        if i.top_level
        and _package(i.module) == "verifier"
        and _package(i.target) == "cv2"
        and not CV2_ALLOWED.search(i.module)
    ]
    assert not loaded, (
        "cv2 imported at module level in the verifier outside its replay, sheet, claim, frames "
        "and video modules (verify must run without OpenCV: import it inside the function "
        "that needs it):\n" + "\n".join(loaded)
    )


def test_the_reader_tells_import_time_from_lazy_imports() -> None:
    """The rules above are only as good as this reading of the source."""
    source = """
import a
try:
    import b
except ImportError:
    import c
if TYPE_CHECKING:
    import d
else:
    import e
class K:
    import f
def g():
    import h
    def i():
        import j
"""
    seen = {ast.unparse(node).split()[-1]: top for node, top in _walk(ast.parse(source).body, True)}
    assert seen == {
        "a": True,
        "b": True,
        "c": True,
        "d": False,
        "e": True,
        "f": True,
        "h": False,
        "j": False,
    }
    relative = ast.parse("from . import text\nfrom ..storage import merkle").body
    assert isinstance(relative[0], ast.ImportFrom)
    assert isinstance(relative[1], ast.ImportFrom)
    assert _resolve("storage.redact", relative[0]) == "storage"
    assert _resolve("storage", relative[0]) == "storage"
    assert _resolve("verifier.claim.footage", relative[1]) == "verifier.storage"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    found.append(component)
    return found
