"""The package's layout keeps its shape: no import circle, no private name taken from another module, short modules
and short functions.

Read from the source (nothing is imported): every ``import`` statement of every module
counts, those inside functions and under ``TYPE_CHECKING`` too. A package's own
``__init__`` is not counted as imported by its submodules (Python runs it first, but the
submodule does not ask for it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "keras_motifs"
MAX_LINES = 500
MAX_FUNCTION_LINES = 60


def module_name(path: Path, root: Path) -> str:
    """``keras_motifs/data/reader.py`` -> ``keras_motifs.data.reader``; a package's ``__init__`` is the package."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """``(module imported, name taken from it or "", line)`` for each keras_motifs import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names if alias.name.startswith("keras_motifs")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("keras_motifs"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in modules:  # ``from keras_motifs.cli import commands``: the module itself
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((node.module, alias.name, node.lineno))
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a package's own parents left out)."""
    graph = {}
    for name, path in modules.items():
        targets = {target for target, _, _ in imports_of(path, modules) if target in modules}
        graph[name] = {target for target in targets if not name.startswith(target + ".") and target != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def private_imports(modules: dict[str, Path]) -> list[str]:
    """``module:line takes NAME from OTHER`` for each private name a module takes from another one."""
    found = []
    for name, path in modules.items():
        for target, taken, line in imports_of(path, modules):
            if taken.startswith("_") and not (taken.startswith("__") and taken.endswith("__")) and target != name:
                found.append(f"{name}:{line} takes {taken} from {target}")
    return found


def long_modules(modules: dict[str, Path], limit: int = MAX_LINES) -> list[str]:
    """``module: N lines`` for each module longer than ``limit`` lines."""
    lengths = {name: len(path.read_text().splitlines()) for name, path in modules.items()}
    return [f"{name}: {count} lines" for name, count in lengths.items() if count > limit]


def body_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from a function's first statement after its docstring to its end (0 for a docstring alone)."""
    body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
    return node.end_lineno - body[0].lineno + 1 if body else 0


def functions(node: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """``(qualified name, node)`` of every function and method under ``node``, nested ones too (``Class.method``)."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not isinstance(child, ast.ClassDef):
                found.append((prefix + child.name, child))
            found += functions(child, f"{prefix}{child.name}.")
        else:
            found += functions(child, prefix)
    return found


def long_functions(modules: dict[str, Path], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``module:function: N lines`` for each function or method whose body (docstring left out) is over ``limit`` lines."""
    found = []
    for name, path in modules.items():
        for qualname, node in functions(ast.parse(path.read_text(), str(path))):
            if body_length(node) > limit:
                found.append(f"{name}:{qualname}: {body_length(node)} lines")
    return found


def test_no_import_circle():
    assert circles(import_graph(package_modules())) == []


def test_no_module_takes_a_private_name_of_another():
    assert private_imports(package_modules()) == []


def test_no_module_is_longer_than_500_lines():
    assert long_modules(package_modules()) == []


def test_no_function_is_longer_than_60_lines():
    assert long_functions(package_modules()) == []


@pytest.fixture
def toy_package(tmp_path):
    """A package with each fault once: a circle (one import inside a function), a private import, a long module,
    a long method (next to a function as long as allowed, its docstring not counted)."""
    root = tmp_path / "keras_motifs"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from keras_motifs.sub import b\n",
        "sub/__init__.py": "from keras_motifs.sub.b import run\n",
        "sub/b.py": "def run():\n    from keras_motifs.c import _helper\n",
        "c.py": "import keras_motifs.a\n\n\ndef _helper():\n    pass\n" + "\n" * MAX_LINES,
        "d.py": (
            'def short():\n    """Doc."""\n' + "    pass\n" * MAX_FUNCTION_LINES
            + 'class Tool:\n    def run(self):\n        """Doc."""\n' + "        pass\n" * (MAX_FUNCTION_LINES + 1)
        ),
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_the_checks_name_what_breaks_each_rule(toy_package):
    modules = package_modules(toy_package)
    assert circles(import_graph(modules)) == [["keras_motifs.a", "keras_motifs.c", "keras_motifs.sub.b"]]
    assert private_imports(modules) == ["keras_motifs.sub.b:2 takes _helper from keras_motifs.c"]
    assert long_modules(modules) == [f"keras_motifs.c: {MAX_LINES + 5} lines"]
    assert long_functions(modules) == [f"keras_motifs.d:Tool.run: {MAX_FUNCTION_LINES + 1} lines"]
