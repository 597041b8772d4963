"""The structure budget of the lint step (tools/check_structure.py) finds what it is for."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "check_structure.py"


@pytest.fixture(scope="module")
def structure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_structure", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "budgeted"
    root.mkdir()
    (root / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == "budgeted" or m.startswith("budgeted.")]:
        del sys.modules[name]


def test_an_import_cycle_is_found_even_through_type_checking_imports(
    structure: ModuleType, package: Path
) -> None:
    (package / "a.py").write_text("from budgeted import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from budgeted import a\n"
    )
    (package / "c.py").write_text("from budgeted import a\n")
    assert structure.import_cycles("budgeted") == [["budgeted.a", "budgeted.b"]]


def test_a_long_function_and_a_long_class_are_found(structure: ModuleType, package: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (package / "long.py").write_text(
        f"def long():\n{body}\n\ndef short():\n    pass\n\n"
        "class Big:\n" + "".join(f"    y{i} = {i}\n" for i in range(300))
    )
    breaches = structure.oversized("budgeted", package.parent)
    assert breaches == [
        "budgeted/long.py:1: function long is 81 lines (at most 80)",
        "budgeted/long.py:87: class Big is 301 lines (at most 300)",
    ]


def test_the_project_is_within_its_budget(structure: ModuleType) -> None:
    for package in structure.PACKAGES:
        assert structure.import_cycles(package) == [], package
    for package in structure.SIZED_PACKAGES:
        assert structure.oversized(package) == [], package
