"""A JupyterLab server for the browser tests: started on loopback with a token, always stopped.

:class:`LabServer` runs ``python -m jupyter lab`` (any interpreter: the dev venv or the
Binder check's fresh venv), or ``python -m jupyter notebook`` (Notebook 7, built on
JupyterLab's components) when made with ``app="notebook"``, on ``127.0.0.1`` and a free
port, with a random token, in an isolated environment (:func:`lab_environment`):

- no ``GROQ_*``/``OPENAI_*`` variables, so kernels use the embedded local model and the
  tests touch no network beyond loopback;
- ``HOME``, ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR`` and
  ``IPYTHONDIR`` in the test's tmp dir, so the developer's own configuration (an
  ``ipython_config.py`` that loads extensions, a lab workspace, ...) cannot interfere;
- lab settings that make the page deterministic: no news or update checks (the network is
  closed), and notebook windowing off so every cell and output is in the DOM.

:meth:`LabServer.stop` asks the server to shut down (SIGTERM: it shuts its kernels down,
and each kernel stops the local model server it started), then kills whatever is left of
the process tree it recorded (server, kernels, model servers) and reports survivors, so a
test can assert that nothing leaked.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import psutil

# Seconds: a cold JupyterLab start on a loaded 2-core machine takes 5-20 s.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0

_DROPPED_PREFIXES = ("GROQ_", "OPENAI_")
_DROPPED_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "JUPYTER_PATH")

# JupyterLab user settings (plugin id -> settings) written into the isolated settings dir.
LAB_SETTINGS = {
    # "full"/"contentVisibility" windowing leaves off-screen cells unrendered.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # The news toast would cover cells; fetching news needs the (closed) network anyway.
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(base: Mapping[str, str], path_prefix: str | None = None) -> dict:
    """``base`` without Groq/OpenAI/proxy variables or an active venv; ``path_prefix`` first
    on PATH."""
    env = {
        k: v
        for k, v in base.items()
        if not k.upper().startswith(_DROPPED_PREFIXES) and k.upper() not in _DROPPED_NAMES
    }
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    if path_prefix:
        env["PATH"] = path_prefix + os.pathsep + env.get("PATH", "")
    return env


def lab_environment(base: Mapping[str, str], home: Path, path_prefix: str | None = None) -> dict:
    """:func:`clean_environment` with HOME and every Jupyter/IPython dir under ``home``."""
    env = clean_environment(base, path_prefix)
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local/share/jupyter/runtime",
        "IPYTHONDIR": home / ".ipython",
        "XDG_CACHE_HOME": home / ".cache",
    }
    for name, folder in dirs.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    return env


def write_lab_settings(settings_dir: Path) -> None:
    """Write :data:`LAB_SETTINGS` as JupyterLab user settings files in ``settings_dir``."""
    for plugin, values in LAB_SETTINGS.items():
        package, _, name = plugin.partition(":")
        target = settings_dir / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


# The server extension app behind ``jupyter <app>``: its settings/workspace dirs and the
# switch that exposes ``window.jupyterapp`` are options of that class.
APP_CLASSES = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}


class LabServer:
    """One ``jupyter lab`` (or ``jupyter notebook``) process serving ``root_dir``; see the
    module docstring."""

    def __init__(
        self,
        python: str,
        root_dir: Path,
        home: Path,
        log_path: Path,
        path_prefix: str | None = None,
        app: str = "lab",
    ) -> None:
        if app not in APP_CLASSES:
            raise ValueError(f"app must be one of {sorted(APP_CLASSES)}, not {app!r}")
        self.app = app
        self.python = python
        self.root_dir = root_dir
        self.home = home
        self.log_path = log_path
        self.path_prefix = path_prefix
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._log = None
        self._seen: dict[int, psutil.Process] = {}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """``path`` (e.g. ``lab/tree/quickstart.ipynb``) on this server, with the token."""
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def notebook_url(self, name: str, workspace: str) -> str:
        """The address that opens notebook ``name`` alone in a new, empty lab workspace.

        Each page gets its own workspace: in the shared default one, JupyterLab would
        reopen every notebook an earlier page had open, as hidden tabs. Notebook 7 has
        one notebook per page (``notebooks/NAME``) and no workspaces to reset.
        """
        if self.app == "notebook":
            return self.url(f"notebooks/{name}")
        return f"{self.url(f'lab/workspaces/{workspace}/tree/{name}')}&reset"

    def command(self) -> list[str]:
        """The command line (jupyter_server 2 / JupyterLab 4 / Notebook 7 option names).

        The ``LabApp`` options are given to Notebook 7 too: its server also loads the
        JupyterLab extension (``/lab``), whose news and update checks need the network, and
        Notebook 7's pages read their settings through it; its own app gets the same dirs.
        """
        settings_dir = self.home / "lab-settings"
        write_lab_settings(settings_dir)
        app_class = APP_CLASSES[self.app]
        own_app = (
            []
            if app_class == "LabApp"
            else [
                f"--{app_class}.user_settings_dir={settings_dir}",
                f"--{app_class}.workspaces_dir={self.home / 'lab-workspaces'}",
            ]
        )
        return [
            self.python,
            "-m",
            "jupyter",
            self.app,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.open_browser=False",
            "--ServerApp.disable_check_xsrf=False",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={self.home / 'lab-workspaces'}",
            *own_app,
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # Lets the tests read kernel state through the app, as JupyterLab's Galata does.
            f"--{app_class}.expose_app_in_browser=True",
            # The PyPI extension manager would query the (closed) network.
            "--LabApp.extension_manager=readonly",
            "--ServerApp.terminals_enabled=False",
            # CI and this machine run the tests as root; jupyter refuses that by default.
            *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []),
        ]

    def start(self) -> None:
        """Start the server and wait (bounded) until its API answers with our token."""
        env = lab_environment(os.environ, self.home, self.path_prefix)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.app} exited with {self.process.returncode} before it was ready;"
                    f" log {self.log_path}:\n{self.log_tail()}"
                )
            if self._api_ready():
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.app} did not answer on {self.base_url} within {START_TIMEOUT:.0f} s;"
            f" log {self.log_path}:\n{self.log_tail()}"
        )

    def _api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def api(self, path: str) -> object:
        """GET ``/api/<path>`` as JSON (e.g. ``kernels``, ``sessions``)."""
        with urllib.request.urlopen(self.url(f"api/{path}"), timeout=10) as response:
            return json.loads(response.read())

    def shutdown_sessions(self, path: str) -> None:
        """Shut down the kernel of every session open on ``path`` (REST API, token auth)."""
        try:
            sessions = self.api("sessions")
        except OSError:
            return
        for session in sessions if isinstance(sessions, list) else []:
            if session.get("path") != path:
                continue
            request = urllib.request.Request(
                self.url(f"api/sessions/{session['id']}"),
                method="DELETE",
                headers={"Authorization": f"token {self.token}"},
            )
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except OSError:
                pass

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def remember_processes(self) -> list[psutil.Process]:
        """Record (and return) the server's live process tree: kernels, model servers."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            for proc in [root, *root.children(recursive=True)]:
                self._seen.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            pass
        return [p for p in self._seen.values() if _alive(p)]

    def descendants(self) -> list[psutil.Process]:
        """Live processes below the server right now (kernels and what they started)."""
        if self.process is None:
            return []
        try:
            return [
                p for p in psutil.Process(self.process.pid).children(recursive=True) if _alive(p)
            ]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list[str]:
        """Shut the server down; kill leftovers; return descriptions of what had to be killed.

        An empty list means the server, its kernels and their model servers all exited on
        their own after the server's graceful shutdown.
        """
        if self.process is None:
            return []
        self.remember_processes()
        leftovers: list[str] = []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                leftovers.append(f"jupyter {self.app} pid {self.process.pid} ignored SIGTERM")
                self.process.kill()
                self.process.wait(10)
        # Kernels and model servers get a moment to exit after the server went away.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in self._seen.values()):
            time.sleep(0.25)
        for proc in self._seen.values():
            if _alive(proc):
                try:
                    leftovers.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:160]}")
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
        if self._log is not None:
            self._log.close()
            self._log = None
        self.process = None
        return leftovers


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
