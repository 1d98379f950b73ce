"""How the test command runs these notebooks (with nbval: ``--nbval-lax --nbval-current-env``).

- ``*.executed.ipynb`` (written by ``python -m groq_magic run``) are outputs, not tests.
- The notebooks are checked against the embedded local model, whatever the shell has:
  ``GROQ_API_KEY`` and ``GROQ_BASE_URL`` are removed before the first notebook's kernel
  starts (each kernel inherits this process's environment). Set
  ``GROQ_MAGIC_NOTEBOOKS_USE_GROQ=1`` to run them on Groq instead, with your key.
  A ``.env`` file holding a key in this folder or above still selects Groq.
"""

from __future__ import annotations

import os

import pytest

collect_ignore_glob = ["*.executed.ipynb"]

_BACKEND_VARIABLES = ("GROQ_API_KEY", "GROQ_BASE_URL")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a notebook's first cell (when nbval starts its kernel): local model only."""
    if os.environ.get("GROQ_MAGIC_NOTEBOOKS_USE_GROQ") == "1":
        return
    for name in _BACKEND_VARIABLES:
        os.environ.pop(name, None)
