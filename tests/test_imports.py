"""The rooms of the code, read from its imports: no import circles, no room importing one above it, no private name
taken from another module, and the runtime never importing the training (nor torch)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each room may import the rooms of a lower floor and its own; rooms on one floor stay apart (the command line and
# the worker are two front ends of the same core).
FLOORS = {
    "gimp_plugin": 0,
    "gimp_plugin.core": 1,
    "gimp_plugin.images": 2,
    "gimp_plugin.guidance": 3,
    "gimp_plugin.tasks": 4,
    "gimp_plugin.cli": 5,
    "gimp_plugin.worker": 5,
    "training": 10,
    "training.common": 11,
    "training.data": 12,
    "training.networks": 13,
    "training.runs": 14,
    "training.onnx_io": 15,
    "training.measure": 16,
    "training.trainer": 17,
    "training.launch": 18,
}
PYTHON_PACKAGES = ("gimp_plugin", "training")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the two packages (the GIMP adapters are files GIMP loads, not modules of the package)."""
    found = {}
    for package in PYTHON_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "gimp2" not in path.parts and "gimp3" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for each import of the project's own modules, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.split(".")[0] in PYTHON_PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] not in PYTHON_PACKAGES:
                continue
            for alias in node.names:  # `from package import module` imports the module
                submodule = f"{base}.{alias.name}"
                found.append((submodule, []) if submodule in known else (base, [alias.name]))
    return found


def room_of(module: str) -> str:
    parts = module.split(".")
    for length in (2, 1):
        if ".".join(parts[:length]) in FLOORS:
            return ".".join(parts[:length])
    raise AssertionError(f"{module} is in no room: give it one in FLOORS")


def graph() -> dict[str, list[tuple[str, list[str]]]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


Graph = dict[str, list[tuple[str, list[str]]]]


def upward_imports(edges: Graph) -> list[str]:
    """Imports of a room on the same floor or above the importer's."""
    wrong = []
    for importer, imported in edges.items():
        for target, _names in imported:
            here, there = room_of(importer), room_of(target)
            if here != there and FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{importer} -> {target}")
    return wrong


def circles(edges: Graph) -> list[str]:
    """Each import circle found by a depth-first walk, as 'a -> b -> a'."""
    targets = {name: {target for target, _ in imported} for name, imported in edges.items()}
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(targets.get(node, ())):
            if state.get(target) == "open":
                found.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for name in sorted(targets):
        if name not in state:
            visit(name, [name])
    return found


def private_names_taken(edges: Graph) -> list[str]:
    return [
        f"{importer} takes {name} from {target}"
        for importer, imported in edges.items()
        for target, names in imported
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]


def test_every_module_is_in_a_room_that_imports_only_rooms_below_it():
    wrong = upward_imports(graph())
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_there_is_no_import_circle():
    found = circles(graph())
    assert not found, "import circles:\n" + "\n".join(found)


def test_no_module_takes_another_modules_private_names():
    taken = private_names_taken(graph())
    assert not taken, "\n".join(taken)


def test_the_runtime_needs_neither_the_training_nor_torch():
    runtime = {name: path for name, path in modules().items() if name.startswith("gimp_plugin")}
    for name, path in runtime.items():
        for node in ast.walk(ast.parse(path.read_text())):
            roots = []
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                roots = [node.module.split(".")[0]]
            assert not {"training", "torch"} & set(roots), f"{name} imports {roots}"


def test_a_circle_an_upward_import_and_a_private_name_are_caught(tmp_path, monkeypatch):
    """The checks themselves: two modules that import each other, one of them from a room above, taking a private
    name."""
    package = tmp_path / "gimp_plugin"
    (package / "core").mkdir(parents=True)
    (package / "cli").mkdir()
    for folder in (package, package / "core", package / "cli"):
        (folder / "__init__.py").write_text("")
    (package / "core" / "a.py").write_text("from gimp_plugin.cli.b import _hidden\n")
    (package / "cli" / "b.py").write_text("from gimp_plugin.core import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PYTHON_PACKAGES", ("gimp_plugin",))
    edges = graph()
    assert edges["gimp_plugin.core.a"] == [("gimp_plugin.cli.b", ["_hidden"])]
    assert edges["gimp_plugin.cli.b"] == [("gimp_plugin.core.a", [])]
    assert upward_imports(edges) == ["gimp_plugin.core.a -> gimp_plugin.cli.b"]
    assert circles(edges) == ["gimp_plugin.cli.b -> gimp_plugin.core.a -> gimp_plugin.cli.b"]
    assert private_names_taken(edges) == ["gimp_plugin.core.a takes _hidden from gimp_plugin.cli.b"]


def test_the_tests_take_no_private_names_either():
    taken = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PYTHON_PACKAGES:
                taken += [
                    f"{path.name}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert not taken, "\n".join(taken)
