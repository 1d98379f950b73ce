"""Fixtures for the real-browser tests: Chromium, a JupyterLab server, open notebooks.

- ``chromium`` (package): the path of Debian's Chromium, installed with apt-get when it is
  missing (we run as root in CI). A failed install is a test error saying why, never a skip.
- ``browser`` (package): a Playwright persistent context on that Chromium (the bundled
  browser cannot be downloaded here), headless, with a new empty profile and the flags that
  keep it off the network.
- ``shots`` (package): ``build/browser/``, emptied of old screenshots first.
- ``start_lab(python, root_dir, app="lab")``: a :class:`browser_lab.LabServer` for any
  interpreter (``app="notebook"``: Notebook 7 instead of JupyterLab), stopped after the
  last browser test (or earlier by the test that started it); stopping checks the process
  table for kernels and local model servers that outlived it (a leak is a teardown error).
- ``lab`` (package): JupyterLab from the dev environment serving a tmp dir that holds clean
  copies of ``notebooks/*.ipynb`` (see :mod:`browser_notebooks`).
- ``open_notebook(lab, name)``: a :class:`browser_page.NotebookPage` for ``name`` with its
  kernel idle; the page is closed and its kernel shut down after the test.
- ``binder_build`` (package): the Binder venv's build (:mod:`browser_binder`), started in the
  background with the first browser test when ``test_binder.py`` was collected, and that
  test is run last among the browser tests, so the build overlaps the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .browser_binder import BinderBuild
from .browser_lab import LabServer
from .browser_notebooks import REPO, copy_notebooks
from .browser_page import NotebookPage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium's own connections (updates, sync, field trials) are refused
    # by the closed network and the browser stalls.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "build" / "browser"
APT_TIMEOUT = 900  # seconds: apt-get update + install chromium on a slow mirror


def _install_chromium() -> str:
    """Run apt-get update and install chromium; return what went wrong ("" on success)."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{' '.join(command)}: {error}"
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            return f"{' '.join(command)} exited with {done.returncode}:\n{tail}"
    return ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the Binder test after the other browser tests, so its build (started in the
    background with the first browser test) overlaps them instead of being waited for."""
    binder = [item for item in items if item.path.name == "test_binder.py"]
    if not binder:
        return
    here = Path(__file__).parent
    others = [item for item in items if item not in binder]
    last_browser = max(
        (n for n, item in enumerate(others) if here in item.path.parents), default=len(others) - 1
    )
    items[:] = others[: last_browser + 1] + binder + others[last_browser + 1 :]


@pytest.fixture(scope="package")
def binder_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BinderBuild]:
    """The Binder venv build (:mod:`browser_binder`); stopped after the last browser test."""
    build = BinderBuild(tmp_path_factory.mktemp("binder"))
    yield build
    build.stop()


@pytest.fixture(scope="package", autouse=True)
def _start_binder_build(request: pytest.FixtureRequest) -> None:
    """Start the Binder build at once when a Binder test was collected.

    Most of the build is download and disk time, which then overlaps the other browser
    tests instead of adding to the session's length.
    """
    if any(item.path.name == "test_binder.py" for item in request.session.items):
        request.getfixturevalue("binder_build").start()


@pytest.fixture(scope="package")
def chromium() -> str:
    """/usr/bin/chromium, installed from Debian's archive if missing (an error otherwise)."""
    if not CHROMIUM.exists():
        problem = _install_chromium()
        if problem or not CHROMIUM.exists():
            pytest.fail(
                "the browser tests need Debian's chromium at /usr/bin/chromium and installing"
                f" it failed (run as root: apt-get update && apt-get install -y chromium):\n"
                f"{problem or 'apt-get succeeded but /usr/bin/chromium is still missing'}",
                pytrace=False,
            )
    return str(CHROMIUM)


@pytest.fixture(scope="package")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium (Playwright persistent context) with a new empty profile."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        # Playwright's default 30 s is too short for a cold JupyterLab on 2 loaded cores.
        context.set_default_timeout(90_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="package")
def shots() -> Path:
    """``build/browser``: screenshots of every browser test, cleared first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return SHOTS


@pytest.fixture(scope="package")
def start_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LabServer]]:
    """Factory: ``start_lab(python, root_dir, path_prefix=None, app="lab")`` -> a running
    LabServer (``app="notebook"`` runs Notebook 7).

    Every server is stopped after the last browser test; anything of its process tree
    (kernels, local model servers) still running after a graceful shutdown is killed and
    reported as a teardown error.
    """
    servers: list[LabServer] = []

    def start(
        python: str, root_dir: Path, path_prefix: str | None = None, app: str = "lab"
    ) -> LabServer:
        home = tmp_path_factory.mktemp(f"{app}-home")
        server = LabServer(python, root_dir, home, home / f"jupyter-{app}.log", path_prefix, app)
        servers.append(server)
        server.start()
        return server

    yield start
    problems = []
    for server in servers:
        leftovers = server.stop()
        if leftovers:
            problems.append(f"{server.base_url}: " + "; ".join(leftovers))
    assert not problems, f"processes outlived JupyterLab's shutdown: {problems}"


@pytest.fixture(scope="package")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tmp folder with clean copies of the repo's notebooks (the tests add their own)."""
    root = tmp_path_factory.mktemp("lab-root")
    copy_notebooks(root)
    return root


@pytest.fixture(scope="package")
def lab(start_lab: Callable[..., LabServer], lab_root: Path) -> LabServer:
    """JupyterLab from the dev environment (this interpreter) serving ``lab_root``."""
    return start_lab(sys.executable, lab_root)


@pytest.fixture
def open_notebook(browser: object, shots: Path) -> Iterator[Callable[..., NotebookPage]]:
    """Factory: ``open_notebook(server, "quickstart.ipynb")`` -> page with an idle kernel."""
    opened: list[tuple[NotebookPage, LabServer, str]] = []

    def open_(server: LabServer, name: str) -> NotebookPage:
        page = browser.new_page()  # type: ignore[attr-defined]
        notebook = NotebookPage(page, shots, Path(name).stem)
        opened.append((notebook, server, name))
        notebook.open(server.notebook_url(name, f"{notebook.name}-{len(opened)}"))
        # The kernel's processes must be known before it is shut down (see LabServer.stop).
        server.remember_processes()
        return notebook

    yield open_
    for notebook, server, name in opened:
        server.remember_processes()
        try:
            notebook.page.close()
        finally:
            server.shutdown_sessions(name)
