"""Lint, formatting and types, enforced by the test command.

Each check runs the tool installed next to this interpreter (``sys.executable -m ...``),
from the repository root, so the configuration in ``pyproject.toml`` applies: ruff's
rules and line length, mypy's ``files`` (``groq_magic``) and its strict overrides for
``groq_magic.client`` and ``groq_magic.chat``. A failure shows the tool's own report.

Mypy keeps its cache in the repository's ``.mypy_cache`` (git-ignored): a cold run takes
a few seconds to a minute, a re-run with nothing changed well under that.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINTED = ["groq_magic", "tests", "bench"]
# Under the test command's own per-test timeout (pyproject's pytest-timeout setting is
# raised for the mypy test below), so a slow tool fails with what it printed so far.
TOOL_TIMEOUT = 840


def run_tool(*args: str) -> None:
    """Run ``python -m <args>`` in the repository root; fail with its output unless it exits 0."""
    command = [sys.executable, "-m", *args]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # Partial output comes back as bytes, whatever ``text`` says.
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        pytest.fail(f"{' '.join(args)} took over {TOOL_TIMEOUT} s:\n{output}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}",
            pytrace=False,
        )


def test_ruff_check() -> None:
    run_tool("ruff", "check", "--no-fix", *LINTED)


def test_ruff_format() -> None:
    run_tool("ruff", "format", "--check", *LINTED)


@pytest.mark.timeout(900)
def test_mypy() -> None:
    run_tool("mypy", "--cache-dir", str(ROOT / ".mypy_cache"))
