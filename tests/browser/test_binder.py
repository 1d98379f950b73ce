"""binder/ as far as this machine can check it: install it fresh, launch JupyterLab, run quickstart.

What mybinder.org (repo2docker) does with ``binder/``, reproduced in a new virtual
environment (one per session; pip's wheel cache makes llama-cpp-python quick to install):

1. ``python3 -m venv``;
2. ``pip install -r binder/requirements.txt`` run from the repository root, as repo2docker
   runs it;
3. ``binder/postBuild`` from the repository root with the venv's ``bin`` first on PATH;
4. ``jupyter lab`` from that venv, no API key anywhere; quickstart.ipynb run in Chromium:
   the answers stream in and every ``%%groq`` cell completes on the local model, in a kernel
   (and model server) running the venv's Python.

Screenshots: ``build/browser/binder-quickstart-*.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_checks import run_all_and_check
from browser_lab import LabServer, clean_environment
from browser_notebooks import REPO, copy_notebooks, groq_cells
from browser_page import NotebookPage

BINDER = REPO / "binder"
# Seconds. A cache miss for llama-cpp-python means compiling llama.cpp (~7 min on 2 cores).
INSTALL_TIMEOUT = 1800
POSTBUILD_TIMEOUT = 900
# The install alone may take ~10 minutes when pip's cache lacks the llama-cpp-python wheel.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(INSTALL_TIMEOUT + 1200)]



def _run(command: list[str], env: dict, log: Path, timeout: float, what: str) -> None:
    """Run ``command`` from the repository root; fail with the log's tail if it fails."""
    with log.open("wb") as out:
        try:
            done = subprocess.run(command, cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what} took more than {timeout} s; log {log}", pytrace=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"{what} failed (exit {done.returncode}); log {log}:\n{tail}",
                    pytrace=False)


@pytest.fixture(scope="module")
def binder_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with exactly what binder/ installs (requirements.txt, then postBuild)."""
    assert (BINDER / "requirements.txt").is_file(), "binder/requirements.txt is missing"
    assert (BINDER / "postBuild").is_file(), "binder/postBuild is missing"
    work = tmp_path_factory.mktemp("binder")
    venv = work / "venv"
    python3 = getattr(sys, "_base_executable", None) or sys.executable
    bin_dir = venv / "bin"
    # The real HOME stays (pip's cache); no Groq variables; the venv first on PATH.
    env = clean_environment(os.environ, path_prefix=str(bin_dir))
    _run([python3, "-m", "venv", str(venv)], env, work / "venv.log", 300, "python3 -m venv")
    _run([str(bin_dir / "pip"), "install", "--disable-pip-version-check",
          "-r", "binder/requirements.txt"],
         env, work / "pip-install.log", INSTALL_TIMEOUT, "pip install -r binder/requirements.txt")
    env["VIRTUAL_ENV"] = str(venv)
    _run(["bash", str(BINDER / "postBuild")], env, work / "postBuild.log", POSTBUILD_TIMEOUT,
         "binder/postBuild")
    return venv


def test_binder_environment_runs_quickstart_in_jupyterlab(
    binder_venv: Path,
    start_lab: Callable[..., LabServer],
    tmp_path_factory: pytest.TempPathFactory,
    open_notebook: Callable[..., NotebookPage],
) -> None:
    """JupyterLab from the Binder venv runs quickstart.ipynb on the local model, no key."""
    root = tmp_path_factory.mktemp("binder-root")
    copy_notebooks(root)
    # Named apart from the dev copy so screenshots do not overwrite each other.
    (root / "quickstart.ipynb").rename(root / "binder-quickstart.ipynb")
    bin_dir = binder_venv / "bin"
    lab = start_lab(str(bin_dir / "python"), root, path_prefix=str(bin_dir))

    notebook = open_notebook(lab, "binder-quickstart.ipynb")
    run_all_and_check(notebook, groq_cells(root / "binder-quickstart.ipynb"))

    # The kernel and the model server it started run the Binder venv's Python.
    processes = lab.remember_processes()
    commands = [p.cmdline() for p in processes if p.pid != lab.process.pid]  # type: ignore[union-attr]
    kernels = [c for c in commands if any("ipykernel" in part for part in c)]
    servers = [c for c in commands if any("llama_cpp.server" in part or "_launch.py" in part
                                          for part in c)]
    assert kernels, f"no kernel process under JupyterLab: {commands}"
    assert servers, f"no local model server under the kernel: {commands}"
    for command in kernels + servers:
        assert command[0].startswith(str(binder_venv)), (
            f"a process runs outside the Binder venv: {command}"
        )
