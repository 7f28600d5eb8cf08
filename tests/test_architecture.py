"""The layout rules of docs/architecture.md, checked: imports flow one way, the wheel ships
the library and not its test scaffolding."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "stylezoo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """stylezoo modules imported by ``path`` at run time, inside functions included
    (imports under ``if TYPE_CHECKING:`` are for the type checker only)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("stylezoo."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "stylezoo" or target.startswith("stylezoo."):
                # `from . import x` may name a submodule rather than an attribute
                submodules = [f"{target}.{a.name}" for a in node.names]
                found.update([m for m in submodules if _exists(m)] or [target])
    found.discard(module)
    return found


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        # The package __init__ is the public face: it may import everything, and nothing
        # inside the package imports it.
        graph[_module_name(path)] = _runtime_imports(path) - {"stylezoo"}
    return graph


def test_the_core_has_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("stylezoo.weights", ("stylezoo.api", "stylezoo.cli", "stylezoo.publish")),
        ("stylezoo.family", ("stylezoo.api", "stylezoo.plugins", "stylezoo.weights.sources")),
        ("stylezoo.plugins", ("stylezoo.api", "stylezoo.weights", "stylezoo.translator")),
        ("stylezoo.registry", ("stylezoo.api", "stylezoo.plugins", "stylezoo.weights")),
    ],
)
def test_modules_only_call_down(module: str, forbidden: tuple[str, ...]) -> None:
    graph = _graph()
    for name, imports in graph.items():
        if name == module or name.startswith(module + "."):
            bad = sorted(i for i in imports if i.startswith(forbidden))
            assert not bad, f"{name} imports {bad}"


def test_the_wheel_ships_the_library_and_not_the_test_scaffolding(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("stylezoo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "stylezoo/__init__.py",
        "stylezoo/py.typed",
        "stylezoo/testing.py",
        "stylezoo/weights/sources.py",
        "stylezoo_registry/cyclegan.toml",
        "stylezoo_plugins/cyclegan/family.py",
        # the real weights that make the shipped models work offline, with their notices
        "stylezoo_plugins/multistyle/weights/android-26.safetensors",
        "stylezoo_plugins/multistyle/NOTICE",
        "stylezoo_plugins/arbitrary/weights/predictor.safetensors",
        "stylezoo_plugins/arbitrary/weights/transformer.safetensors",
        "stylezoo_plugins/arbitrary/NOTICE",
        # the web demo's example photos
        "stylezoo/demo/examples/chelsea.jpg",
        "stylezoo/demo/examples/NOTICE",
    ):
        assert required in names, f"{required} missing from the wheel"
    leaked = sorted(n for n in names if "loopback" in n or n.startswith(("tests/", "docs/")))
    assert not leaked, f"test scaffolding in the wheel: {leaked}"
    registries = {n for n in names if n.startswith("stylezoo_registry/") and n.endswith(".toml")}
    assert registries == {f"stylezoo_registry/{p.name}" for p in (ROOT / "registry").glob("*.toml")}
