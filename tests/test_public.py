"""Each package's public surface (as httpx tests its own): the names ``__all__`` promises,
one error tree under PacksealError drawn in the packages' docstrings, and the seams the
layers meet at (the CLI imports no private module; nothing outside storage reaches into
the store's database, log or blob backend)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from packseal.cli import COMMANDS
from storage import PacksealError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "recorder", "verifier")
LAYERS = (*PACKAGES, "packseal")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_is_there_and_public(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    for name in exported:
        value = getattr(module, name)  # the lazy names too: each must resolve
        assert not name.startswith("_")
        origin = getattr(value, "__module__", None)
        if origin is not None and origin not in ("types", "typing"):  # aliases: Entry, Severity
            assert origin.split(".")[0] == package, f"{package}.{name} comes from {origin}"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_names_only_what_it_exports(package: str) -> None:
    """Public names in the package namespace are in ``__all__`` (submodules aside)."""
    module = importlib.import_module(package)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and not inspect.ismodule(v)
        and n not in ("annotations", "importlib", "TYPE_CHECKING", "Any")
    }
    assert public <= set(module.__all__)


def _modules() -> list[str]:
    names = []
    for package in LAYERS:
        names.append(package)
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


def test_every_exception_is_in_the_one_tree_and_drawn() -> None:
    trees = "\n".join(
        importlib.import_module(m).__doc__ or ""
        for m in ("storage._errors", "recorder", "verifier", "packseal")
    )
    found = {}
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # pragma: no cover - every extra is installed for tests
            pytest.fail(f"{name}: {e}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found[value.__qualname__] = value
    assert found, "no exception classes found"
    for qualname, cls in found.items():
        assert issubclass(cls, PacksealError), f"{cls.__module__}.{qualname} is outside the tree"
        assert qualname in trees, f"{cls.__module__}.{qualname} is not drawn in a tree docstring"


def test_the_cli_imports_no_private_module_of_the_layers_below() -> None:
    for path in (ROOT / "packseal").glob("_cli*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                top, *rest = node.module.split(".")
                if top in PACKAGES:
                    assert not any(p.startswith("_") for p in rest), f"{path.name}: {node.module}"


def _names_a_store(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "store" in name


def test_nothing_outside_storage_reaches_into_the_store() -> None:
    private = {"_engine", "_log", "_blobs", "engine", "log", "blobs"}
    for package in ("recorder", "verifier", "packseal"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in private
                    and _names_a_store(node.value)
                ):
                    pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} uses store.{node.attr}")


def test_every_command_is_registered_once_with_its_module() -> None:
    seen = {}
    for module_name in sorted(set(COMMANDS.values())):
        module = importlib.import_module(f"packseal.{module_name}")
        for command in module.COMMANDS:
            seen[command.name] = module_name
    assert seen == COMMANDS
