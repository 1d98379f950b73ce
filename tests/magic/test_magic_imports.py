"""``%load_ext groq_magic`` in a fresh process: the magics register, widgets and optional
extras stay unimported (timing lives in bench/import_cost.py, not here)."""

from __future__ import annotations

from typing import Any

import pytest
from magic_imports import load_ext_in_fresh_process


@pytest.fixture(scope="module")
def loaded() -> dict[str, Any]:
    return load_ext_in_fresh_process()


def test_load_ext_registers_the_magics(loaded: dict[str, Any]) -> None:
    assert loaded["registered"] is True


@pytest.mark.parametrize(
    "module", ["ipywidgets", "pandas", "groq_magic.ui", "groq_magic.local", "llama_cpp"]
)
def test_load_ext_leaves_optional_modules_for_first_use(
    loaded: dict[str, Any], module: str
) -> None:
    assert loaded["heavy"][module] is False, f"{module} imported by %load_ext"


def test_load_ext_imports_no_third_party_package_beyond_ipython(loaded: dict[str, Any]) -> None:
    # Loose guard: nothing from the data or widget stacks (matplotlib, numpy, ...).
    tops = {name.split(".")[0] for name in loaded["new"]}
    assert not tops & {"numpy", "pandas", "matplotlib", "ipywidgets", "jsonschema", "llama_cpp"}


@pytest.mark.parametrize("module", ["httpx", "pydantic", "groq_magic.client"])
def test_load_ext_leaves_the_protocol_stack_for_first_use(module: str) -> None:
    # DESIGN: "%load_ext groq_magic imports little (the protocol layer and ipywidgets load
    # when first needed)"; with them it cost ~250 ms against 150 ms (bench/import_cost.py).
    loaded = load_ext_in_fresh_process()
    assert loaded["heavy"][module] is False, f"{module} imported by %load_ext"
