"""Fuzz suite: the large budget runs without the suite's per-test timeout (see fuzz_settings)."""

from __future__ import annotations

from typing import Any

import pytest
from fuzz_settings import FUZZ, PROFILE


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Under ``HYPOTHESIS_PROFILE=large`` a property may run for many minutes: lift the
    600 s per-test timeout (pyproject) for the fuzz tests only."""
    if PROFILE != "large":
        return
    for item in items:
        if "tests/fuzz/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("test_fuzz_"):
            item.add_marker(pytest.mark.timeout(0))


def pytest_report_header(config: Any) -> str:
    """One header line naming the fuzz profile and its examples per property."""
    return f"fuzz profile: {PROFILE} ({FUZZ.max_examples} examples per property)"
