"""One llama.cpp OpenAI-compatible server per kernel, on loopback, started on demand.

``LocalServer`` runs ``python -m llama_cpp.server --model PATH --model_alias NAME
--host 127.0.0.1 --port N --n_ctx 2048`` in a child process (through
``_launch.py``, which ties the child's life to ours) and hands back its base URL.
Nothing here imports ``llama_cpp``: the model lives in the child, and this
module needs only the standard library.

Lifecycle, in order:

- **Port**: picked by binding port 0 and letting go. Another process can take
  it before the server binds; the server then exits with "address already in
  use", which we recognise in its log and retry on a new port (3 tries).
- **Readiness**: poll ``GET /v1/models`` until it answers 200 listing our alias
  (so a stranger squatting the port is not mistaken for us), within
  ``ready_timeout`` seconds (60 by default). A server that exits first, or never
  answers, is stopped and reported as one LocalModelError carrying the last lines
  of its log (stdout and stderr go to a temporary log file).
- **Reuse**: ``ensure_running()`` returns the same server to every cell. If the
  server died meanwhile, it starts a new one and reports one line through the
  ``on_notice`` callback; likewise when ``$GROQ_MAGIC_LOCAL_MODEL`` changed.
- **Stop**: ``stop()`` sends SIGTERM, waits 5 s, then SIGKILL. It runs at
  interpreter exit (``atexit``), on ``%groq local stop``, and on unload. For a
  kernel that dies hard, the child arms ``PR_SET_PDEATHSIG`` and a parent
  watchdog (see ``_launch.py``).
- **Signals**: the child gets its own session (``start_new_session``), so a
  kernel interrupt (which Jupyter sends to the kernel's process group) or a
  terminal Ctrl-C stops the cell, not the server.

``get_local_server()`` is the per-process singleton the magic uses.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from groq_magic.local._errors import LocalModelError
from groq_magic.local._model import INSTALL_HINT, MODEL_ENV, check_gguf, model_path

logger = logging.getLogger("groq_magic")

LOCAL_MODEL_NAME = "smollm2-135m-instruct"
"""The model name the local server answers to (its ``--model_alias``)."""

LOCAL_API_KEY = "local"
"""Placeholder key sent to the local server, which checks none (not a secret)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_N_CTX = 2048
DEFAULT_READY_TIMEOUT = 60.0
MAX_PORT_ATTEMPTS = 3
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL_LINES = 10
_LOG_PREFIX = "groq_magic_local_"  # then the owner's pid, "_", a random part

_LAUNCHER = Path(__file__).with_name("_launch.py")
# Modules `python -m llama_cpp.server` needs; checked with find_spec, never imported.
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "pydantic_settings")
_PORT_IN_USE_MARKERS = ("address already in use", "errno 98", "errno 48", "eaddrinuse")
_LOAD_FAILURE_MARKER = "Failed to load model from file"  # llama_cpp's ValueError text

CommandFactory = Callable[[Path, str, int], Sequence[str]]
"""Builds the server's argv from (model path, host, port); a test hook."""


def local_available() -> bool:
    """True when the ``local`` extra (llama-cpp-python with its server) is installed.

    Uses ``importlib.util.find_spec`` on top-level names only, so nothing is imported.
    """
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in _SERVER_MODULES)


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port on ``host`` that was free a moment ago (bind port 0, read it, let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LocalServerStatus:
    """A snapshot of the local server for ``%groq local status``."""

    running: bool
    pid: int | None
    port: int | None
    base_url: str | None
    model_path: Path | None
    model_name: str
    uptime: float | None
    """Seconds since the server became ready, while it runs."""
    restarts: int
    """How many times it was restarted after dying on its own."""
    last_exit_code: int | None
    log_path: Path | None

    def __str__(self) -> str:
        if not self.running:
            tail = "" if self.last_exit_code is None else f" (last exit code {self.last_exit_code})"
            return f"local model server: not running{tail}"
        return (
            f"local model server: running, pid {self.pid}, {self.base_url},"
            f" model {self.model_name} ({self.model_path}), up {self.uptime or 0.0:.0f} s,"
            f" restarts {self.restarts}"
        )


class LocalServer:
    """A llama.cpp OpenAI-compatible server in a child process, started on demand.

    ``model`` is a GGUF path, or None for :func:`model_path` (the bundled model
    or ``$GROQ_MAGIC_LOCAL_MODEL``), resolved at each start. ``port_picker`` and
    ``command_factory`` are test hooks: where the port comes from, and what
    child runs instead of llama_cpp.server.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        host: str = DEFAULT_HOST,
        n_ctx: int = DEFAULT_N_CTX,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        alias: str = LOCAL_MODEL_NAME,
        extra_args: Sequence[str] = (),
        port_picker: Callable[[], int] | None = None,
        command_factory: CommandFactory | None = None,
        max_port_attempts: int = MAX_PORT_ATTEMPTS,
    ) -> None:
        self.model = model
        self.host = host
        self.n_ctx = n_ctx
        self.ready_timeout = ready_timeout
        self.alias = alias
        self.extra_args = tuple(extra_args)
        self.port_picker = port_picker or (lambda: free_port(host))
        self.command_factory = command_factory
        self.max_port_attempts = max_port_attempts
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._model_path: Path | None = None
        self._log_path: Path | None = None
        self._ready_at: float | None = None
        self._restarts = 0
        self._last_exit_code: int | None = None
        self._atexit_registered = False
        self._env_model = ""  # $GROQ_MAGIC_LOCAL_MODEL as it was at the last start

    # -- public API -------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """``http://127.0.0.1:PORT/v1`` while running, else None."""
        if self._port is None or not self.running:
            return None
        return f"http://{self.host}:{self._port}/v1"

    @property
    def pid(self) -> int | None:
        """The server process id while running, else None."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the child process is alive (after a successful start)."""
        return self._proc is not None and self._proc.poll() is None

    def ensure_running(self, on_notice: Callable[[str], None] | None = None) -> str:
        """Return the base URL, starting the server first if needed.

        If a server this object started has died since, a new one is started and
        ``on_notice`` receives one line saying so. The same happens when
        ``$GROQ_MAGIC_LOCAL_MODEL`` changed since the start (for a server built
        without an explicit ``model``), so ``%env GROQ_MAGIC_LOCAL_MODEL=...``
        takes effect on the next cell. Raises LocalModelError.
        """
        with self._lock:
            url = self.base_url
            if url is not None and self._model_env_changed():
                self.stop()
                url = self.start()
                if on_notice is not None:
                    on_notice(
                        f"{MODEL_ENV} changed: the local model server now serves"
                        f" {self._model_path} (port {self._port})."
                    )
                return url
            if url is not None:
                return url
            crashed = self._proc is not None
            code = self._reap()
            url = self.start()
            if crashed:
                self._restarts += 1
                logger.info("local model server had exited (code %s); restarted", code)
                if on_notice is not None:
                    on_notice(
                        f"The local model server had stopped (exit code {code});"
                        f" started a new one on port {self._port}."
                    )
            return url

    def start(self) -> str:
        """Start the server (a no-op if it runs) and wait until it answers; return its base URL."""
        with self._lock:
            url = self.base_url
            if url is not None:
                return url
            self._reap()
            if self.command_factory is None and not local_available():
                raise LocalModelError(f"the local model backend is not installed: {INSTALL_HINT}")
            env_model = os.environ.get(MODEL_ENV, "").strip()
            path = model_path() if self.model is None else check_gguf(self.model)
            self._env_model = env_model
            last_tail: list[str] = []
            for _ in range(self.max_port_attempts):
                port = self.port_picker()
                outcome, tail = self._launch(path, port)
                if outcome == "ready":
                    logger.info("local model server started: %s on port %d", path.name, port)
                    return f"http://{self.host}:{port}/v1"
                logger.debug(
                    "local model server: port %d unusable (%s); trying another", port, outcome
                )
                last_tail = tail
            raise LocalModelError(
                f"local model server could not bind a port on {self.host}"
                f" after {self.max_port_attempts} tries" + _format_tail(last_tail),
                last_tail,
            )

    def stop(self) -> bool:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); True if one was running."""
        with self._lock:
            proc = self._proc
            was_running = proc is not None and proc.poll() is None
            if proc is not None:
                _terminate(proc)
                logger.info("local model server stopped (pid %d)", proc.pid)
            self._reap()
            # Our own SIGTERM's exit code would read like a crash in status().
            self._last_exit_code = None
            return was_running

    def status(self) -> LocalServerStatus:
        """A snapshot: running, pid, port, base URL, model, uptime, restarts."""
        with self._lock:
            running = self.running
            return LocalServerStatus(
                running=running,
                pid=self.pid,
                port=self._port if running else None,
                base_url=self.base_url,
                model_path=self._model_path if running else None,
                model_name=self.alias,
                uptime=(time.monotonic() - self._ready_at)
                if running and self._ready_at is not None
                else None,
                restarts=self._restarts,
                last_exit_code=None if running else self._exit_code_now(),
                log_path=self._log_path if running else None,
            )

    # -- internals --------------------------------------------------------

    def _command(self, path: Path, port: int) -> list[str]:
        if self.command_factory is not None:
            return [str(part) for part in self.command_factory(path, self.host, port)]
        guard = [str(os.getpid())]
        if threading.current_thread() is threading.main_thread():
            guard.append("--pdeathsig")  # see _launch.py: only safe from the main thread
        return [
            sys.executable,
            str(_LAUNCHER),
            *guard,
            "--",
            "--model",
            str(path),
            "--model_alias",
            self.alias,
            "--host",
            self.host,
            "--port",
            str(port),
            "--n_ctx",
            str(self.n_ctx),
            *self.extra_args,
        ]

    def _launch(self, path: Path, port: int) -> tuple[str, list[str]]:
        """Start one child on ``port``; "ready", or ("port-in-use", log tail); else raise."""
        _sweep_stale_logs()
        fd, log_name = tempfile.mkstemp(prefix=f"{_LOG_PREFIX}{os.getpid()}_", suffix=".log")
        log_path = Path(log_name)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            with os.fdopen(fd, "wb") as log:
                proc = subprocess.Popen(
                    self._command(path, port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        except OSError as exc:
            _unlink(log_path)
            raise LocalModelError(f"cannot start the local model server: {exc}") from None
        self._proc, self._port, self._log_path = proc, port, log_path
        self._model_path = path
        self._register_atexit()
        ready = self._wait_ready(proc, port)
        if ready:
            self._ready_at = time.monotonic()
            return "ready", []
        tail = _read_tail(log_path, LOG_TAIL_LINES)
        code = proc.poll()
        self._reap()
        if code is None:
            raise LocalModelError(
                f"local model server did not become ready within {self.ready_timeout:g} s"
                + _format_tail(tail),
                tail,
            )
        if _mentions_port_in_use(tail):
            return "port-in-use", tail
        if any(_LOAD_FAILURE_MARKER in line for line in tail):
            raise LocalModelError(
                f"local model server could not load the model file {path} (exit code {code})"
                + _format_tail(tail),
                tail,
            )
        raise LocalModelError(
            f"local model server exited at start (exit code {code})" + _format_tail(tail), tail
        )

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> bool:
        """Poll until the server answers (True), exits, or the wait runs out (False)."""
        deadline = time.monotonic() + self.ready_timeout
        delay = 0.05
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            remaining = deadline - time.monotonic()
            if _answers_models(self.host, port, self.alias, min(1.0, max(remaining, 0.05))):
                # A squatter on the port could answer too; we only count it if
                # our child is still alive (it exits when it cannot bind).
                return proc.poll() is None
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 1.5, 0.25)
        return False

    def _model_env_changed(self) -> bool:
        return self.model is None and os.environ.get(MODEL_ENV, "").strip() != self._env_model

    def _exit_code_now(self) -> int | None:
        if self._proc is not None:
            code = self._proc.poll()
            if code is not None:
                return code
        return self._last_exit_code

    def _reap(self) -> int | None:
        """Forget a finished (or never started) child and its log; return its exit code."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                _terminate(proc)
            self._last_exit_code = proc.returncode
        self._proc = None
        self._port = None
        self._ready_at = None
        self._model_path = None
        _unlink(self._log_path)
        self._log_path = None
        return self._last_exit_code

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _answers_models(host: str, port: int, alias: str, timeout: float) -> bool:
    """True if ``GET /v1/models`` on host:port answers 200 and lists ``alias``."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/v1/models")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return False
        ids = [item.get("id") for item in json.loads(body).get("data", [])]
        return alias in ids
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    finally:
        conn.close()


def _read_tail(path: Path | None, lines: int) -> list[str]:
    if path is None:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - 64 * 1024, 0))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return kept[-lines:]


def _format_tail(tail: list[str]) -> str:
    if not tail:
        return " (the server wrote no log)"
    return "; last log lines:\n" + "\n".join(f"    {line}" for line in tail)


def _mentions_port_in_use(tail: list[str]) -> bool:
    text = "\n".join(tail).lower()
    return any(marker in text for marker in _PORT_IN_USE_MARKERS)


def _sweep_stale_logs() -> None:
    """Remove logs left by processes that died without stopping their server.

    A kernel killed outright runs no cleanup, so its log stays in the temporary
    directory; the log name carries the owner's pid, and the next start removes
    logs whose owner no longer exists.
    """
    for stale in Path(tempfile.gettempdir()).glob(f"{_LOG_PREFIX}*_*.log"):
        owner = stale.name[len(_LOG_PREFIX) :].split("_", 1)[0]
        if owner.isdigit() and not _pid_alive(int(owner)):
            _unlink(stale)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


_SERVER: LocalServer | None = None
_SERVER_LOCK = threading.Lock()


def get_local_server() -> LocalServer:
    """The one LocalServer of this process (kernel), created on first use, not started."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None:
            _SERVER = LocalServer()
        return _SERVER


def stop_local_server() -> bool:
    """Stop this process's local server if there is one; True if one was running."""
    with _SERVER_LOCK:
        server = _SERVER
    return server.stop() if server is not None else False
