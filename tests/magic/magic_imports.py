"""Run ``%load_ext groq_magic`` in a fresh interpreter and report what it imported."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Modules that must wait for first use (see the DESIGN: "heavy modules load on first use").
HEAVY = (
    "httpx",
    "pydantic",
    "pydantic_core",
    "ipywidgets",
    "pandas",
    "groq_magic.client",
    "groq_magic.ui",
    "groq_magic.local",
    "llama_cpp",
)

_PROBE = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
shell.run_line_magic("load_ext", "groq_magic")
after = set(sys.modules)
print(json.dumps({
    "registered": "groq" in shell.magics_manager.magics["cell"],
    "new": sorted(after - before),
    "heavy": {name: name in sys.modules for name in %r},
}))
"""


@functools.lru_cache(maxsize=1)
def load_ext_in_fresh_process() -> dict[str, Any]:
    """``{"registered": bool, "new": [module names], "heavy": {name: imported?}}``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
