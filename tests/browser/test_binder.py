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

from collections.abc import Callable
from pathlib import Path

import pytest

from .browser_binder import INSTALL_TIMEOUT, POSTBUILD_TIMEOUT, BinderBuild, BuildFailed
from .browser_checks import run_all_and_check
from .browser_lab import LabServer
from .browser_notebooks import copy_notebooks, groq_cells
from .browser_page import NotebookPage

# The install alone may take ~10 minutes when pip's cache lacks the llama-cpp-python wheel.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(INSTALL_TIMEOUT + 1200)]


@pytest.fixture(scope="module")
def binder_venv(binder_build: BinderBuild) -> Path:
    """The fresh venv with exactly what binder/ installs (started early by conftest)."""
    try:
        return binder_build.wait(INSTALL_TIMEOUT + POSTBUILD_TIMEOUT)
    except BuildFailed as failure:
        pytest.fail(str(failure), pytrace=False)


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
    servers = [
        c for c in commands if any("llama_cpp.server" in part or "_launch.py" in part for part in c)
    ]
    assert kernels, f"no kernel process under JupyterLab: {commands}"
    assert servers, f"no local model server under the kernel: {commands}"
    for command in kernels + servers:
        assert command[0].startswith(str(binder_venv)), (
            f"a process runs outside the Binder venv: {command}"
        )
