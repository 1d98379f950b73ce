"""Build the Binder environment the way repo2docker does, in a fresh venv, in the background.

1. ``python3 -m venv``;
2. ``pip install -r binder/requirements.txt`` run from the repository root, as repo2docker
   runs it (a relative path in the file is resolved against the working directory);
3. ``bash binder/postBuild`` from the repository root with the venv's ``bin`` first on PATH.

The build takes a few minutes (downloads, unpacking JupyterLab; pip's wheel cache spares
compiling llama.cpp), most of it waiting on the network and the disk, so the browser tests
start it at the beginning of the session (:meth:`BinderBuild.start`) and the Binder test
waits for it (:meth:`BinderBuild.wait`) after the other tests used the time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from .browser_lab import clean_environment
from .browser_notebooks import REPO

BINDER = REPO / "binder"
# Seconds. A cache miss for llama-cpp-python means compiling llama.cpp (~7 min on 2 cores).
INSTALL_TIMEOUT = 1800
POSTBUILD_TIMEOUT = 900
VENV_TIMEOUT = 300


class BuildFailed(Exception):
    """A build step failed; the message names the step and shows its log's tail."""


class BinderBuild:
    """One Binder venv under ``work``; built once, in a thread, by :meth:`start`."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.venv = work / "venv"
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._stopped = False
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start building in a background thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build, name="binder-build", daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> Path:
        """The venv, once built; raises :class:`BuildFailed` if a step failed or timed out."""
        self.start()
        if not self._done.wait(timeout):
            raise BuildFailed(
                f"the Binder build did not finish within {timeout:.0f} s (logs in {self.work})"
            )
        if self.error:
            raise BuildFailed(self.error)
        return self.venv

    def stop(self) -> None:
        """Kill a step still running (the session is ending) and wait for the thread."""
        self._stopped = True
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if self._thread is not None:
            self._thread.join(30)

    def _build(self) -> None:
        try:
            self._steps()
        except BuildFailed as failure:
            self.error = str(failure)
        except Exception as error:  # report anything, never leave wait() hanging
            self.error = f"the Binder build crashed: {error!r}"
        finally:
            self._done.set()

    def _steps(self) -> None:
        for name in ("requirements.txt", "postBuild"):
            if not (BINDER / name).is_file():
                raise BuildFailed(f"binder/{name} is missing")
        bin_dir = self.venv / "bin"
        env = clean_environment(os.environ, path_prefix=str(bin_dir))
        python3 = getattr(sys, "_base_executable", None) or sys.executable
        self._run(
            [python3, "-m", "venv", str(self.venv)], env, "venv", VENV_TIMEOUT, "python3 -m venv"
        )
        self._run(
            [
                str(bin_dir / "pip"),
                "install",
                "--disable-pip-version-check",
                "-r",
                "binder/requirements.txt",
            ],
            env,
            "pip-install",
            INSTALL_TIMEOUT,
            "pip install -r binder/requirements.txt",
        )
        env["VIRTUAL_ENV"] = str(self.venv)
        self._run(
            ["bash", str(BINDER / "postBuild")],
            env,
            "postBuild",
            POSTBUILD_TIMEOUT,
            "binder/postBuild",
        )

    def _run(self, command: list[str], env: dict, name: str, timeout: float, what: str) -> None:
        """Run one step from the repository root, logging to ``<work>/<name>.log``."""
        if self._stopped:
            raise BuildFailed("the Binder build was stopped")
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            try:
                returncode = self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                raise BuildFailed(f"{what} took more than {timeout} s; log {log}") from None
        if returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise BuildFailed(f"{what} failed (exit {returncode}); log {log}:\n{tail}")
