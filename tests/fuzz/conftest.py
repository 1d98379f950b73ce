"""Fuzz suite: report which budget ran (see :mod:`fuzz_settings`)."""

from __future__ import annotations

from typing import Any

from fuzz_settings import FUZZ, PROFILE


def pytest_report_header(config: Any) -> str:
    """One header line naming the fuzz profile and its examples per property."""
    return f"fuzz profile: {PROFILE} ({FUZZ.max_examples} examples per property)"
