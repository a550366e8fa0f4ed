"""The layering of the packages, read from the source with Python's ast (every import: top level, inside functions,
under TYPE_CHECKING):

    rollback_stacks  ←  components  ←  rollback (the verbs)  ←  sandbox (the embedded services and the demo)

A package imports only the packages to its left; nothing product-side (rollback_stacks, components, rollback,
__main__.py) imports the sandbox, with one exception: the CLI's `rollback sandbox …` and `rollback demo` commands
import it inside their bodies (rollback/cli.py says why). No modules import each other, directly or in a longer
cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("rollback_stacks", "components", "rollback", "sandbox")  # each may import only those before it
WHAT = {"rollback_stacks": "the stack records", "components": "the components", "rollback": "the verbs",
        "sandbox": "the sandbox"}
PRODUCT = ("rollback_stacks", "components", "rollback", "__main__")
# (module, function) pairs allowed to import the sandbox lazily: the CLI commands that run it
SANDBOX_COMMANDS = {("rollback.cli", name) for name in ("_sandbox_root", "sandbox_up", "sandbox_env", "sandbox_down",
                                                         "demo_cmd")}


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it is, and the function it sits in (None: module level)."""

    source: str
    target: str
    file: str  # relative to the repository
    line: int
    function: str | None

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def modules(root: Path) -> dict[str, Path]:
    """Every module of the four packages (a package as its __init__) and __main__.py, by dotted name."""
    out = {"__main__": root / "__main__.py"} if (root / "__main__.py").is_file() else {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """The outermost function enclosing each import node."""
    owner: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    owner.setdefault(inner, node.name)
    return owner


def imports(root: Path) -> list[Import]:
    """Every import between our modules: `from a import b` names a.b when a.b is a module of ours, else a."""
    mods = modules(root)
    out: list[Import] = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        owner = _functions(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in dict.fromkeys(targets):
                if target.split(".")[0] in (*LAYERS, "__main__") and target != name:
                    out.append(Import(name, target, str(path.relative_to(root)), node.lineno, owner.get(node)))
    return out


def _layer(module: str) -> str:
    return module.split(".")[0]


def layer_violations(found: Iterable[Import]) -> list[str]:
    """Each import of a higher layer, and each product import of the sandbox outside the allowed commands."""
    out = []
    for imp in found:
        src, dst = _layer(imp.source), _layer(imp.target)
        if src == "__main__" and dst == "sandbox":
            out.append(f"{imp.where()}: __main__ imports {imp.target}: nothing product-side imports the sandbox")
        elif dst == "sandbox" and src in PRODUCT:
            if (imp.source, imp.function) in SANDBOX_COMMANDS:
                continue
            where = f"in {imp.function}()" if imp.function else "at module level"
            out.append(f"{imp.where()}: {imp.source} imports {imp.target} {where}: nothing product-side imports the "
                       "sandbox (only the CLI's sandbox and demo commands, inside their bodies)")
        elif src in LAYERS and LAYERS.index(dst) > LAYERS.index(src):
            out.append(f"{imp.where()}: {imp.source} imports {imp.target}: {src} ({WHAT[src]}) must not import "
                       f"{dst} ({WHAT[dst]}), a higher layer")
    return out


def cycles(found: Iterable[Import]) -> list[str]:
    """Each pair of modules importing each other, then each longer cycle (one per strongly connected component)."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in found:
        edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    out = []
    for a, targets in sorted(edges.items()):
        for b, imp in sorted(targets.items()):
            back = edges.get(b, {}).get(a)
            if back is not None and a < b:
                out.append(f"{a} and {b} import each other ({imp.where()}, {back.where()})")
    paired = {m for line in out for m in line.split(" import each other")[0].split(" and ")}
    for component in _components(edges):
        if len(component) > 2 or not set(component) <= paired:
            out.append("import cycle: " + " → ".join(_cycle(edges, component)))
    return out


def _components(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def _cycle(edges: dict[str, dict[str, Import]], component: list[str]) -> list[str]:
    """The longest simple cycle through a component's first module (a pair within it is reported already)."""
    members, start = set(component), component[0]
    best: list[str] = []

    def walk(path: list[str]) -> None:
        nonlocal best
        for nxt in sorted(edges.get(path[-1], {})):
            if nxt == start and len(path) > len(best) - 1:
                best = [*path, start]
            elif nxt in members and nxt not in path:
                walk([*path, nxt])

    walk([start])
    return best


@pytest.fixture(scope="module")
def found() -> list[Import]:
    return imports(REPO)


def test_the_source_tree_is_read(found: list[Import]) -> None:
    mods = modules(REPO)
    assert {"rollback.cli", "components.program", "rollback_stacks.store", "sandbox.demo", "__main__"} <= set(mods)
    assert any(i.source == "rollback.cli" and _layer(i.target) == "sandbox" for i in found)  # the allowed exception


def test_no_layer_imports_a_higher_one_and_the_product_never_imports_the_sandbox(found: list[Import]) -> None:
    problems = layer_violations(found)
    assert not problems, "layering violated:\n  " + "\n  ".join(problems)


def test_no_modules_import_each_other(found: list[Import]) -> None:
    problems = cycles(found)
    assert not problems, "import cycles:\n  " + "\n  ".join(problems)


# The checks themselves, on a scratch tree holding each kind of violation.
SCRATCH = {
    "__main__.py": "import sandbox\n",
    "rollback_stacks/__init__.py": "",
    "rollback_stacks/errors.py": "from rollback.errors import RollbackError\n",
    "rollback_stacks/store.py": "from components import base\n",
    "components/__init__.py": "",
    "components/base.py": "def f() -> None:\n    from rollback import cli\n",
    "components/alias.py": "from sandbox import postgres\n",
    "rollback/__init__.py": "",
    "rollback/errors.py": "",
    "rollback/cli.py": "import sandbox.postgres\n\n\ndef demo_cmd() -> None:\n    from sandbox.demo import run\n",
    "rollback/decide.py": "from rollback import decide_render\n",
    "rollback/decide_render.py": "from rollback.decide import Decision\n",
    "rollback/a.py": "from . import b\n",
    "rollback/b.py": "from rollback import c\n",
    "rollback/c.py": "import rollback.a\n",
    "sandbox/__init__.py": "from rollback import cli\nfrom components import base\nfrom rollback_stacks import store\n",
    "sandbox/postgres.py": "",
    "sandbox/demo.py": "",
}


def test_each_kind_of_violation_is_caught(tmp_path: Path) -> None:
    for rel, text in SCRATCH.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = imports(tmp_path)
    problems = layer_violations(found)
    expected = [
        "__main__.py:1: __main__ imports sandbox: nothing product-side imports the sandbox",
        "rollback_stacks/errors.py:1: rollback_stacks.errors imports rollback.errors: rollback_stacks (the stack "
        "records) must not import rollback (the verbs), a higher layer",
        "rollback_stacks/store.py:1: rollback_stacks.store imports components.base: rollback_stacks (the stack "
        "records) must not import components (the components), a higher layer",
        "components/base.py:2: components.base imports rollback.cli: components (the components) must not import "
        "rollback (the verbs), a higher layer",
        "components/alias.py:1: components.alias imports sandbox.postgres at module level: nothing product-side "
        "imports the sandbox (only the CLI's sandbox and demo commands, inside their bodies)",
        "rollback/cli.py:1: rollback.cli imports sandbox.postgres at module level: nothing product-side imports the "
        "sandbox (only the CLI's sandbox and demo commands, inside their bodies)",
    ]
    assert sorted(problems) == sorted(expected)  # the sandbox importing every layer, and demo_cmd's import, are fine
    assert cycles(found) == ["rollback.decide and rollback.decide_render import each other (rollback/decide.py:1, "
                             "rollback/decide_render.py:1)",
                             "import cycle: rollback.a → rollback.b → rollback.c → rollback.a"]
