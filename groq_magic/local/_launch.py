"""Child-side launcher: tie the server's life to the kernel's, then run llama_cpp.server.

Run as ``python /path/to/_launch.py PARENT_PID [--pdeathsig] -- SERVER ARGS...``
(by file path, so it works whether or not groq_magic is installed in the
interpreter). It does two things before handing over to
``python -m llama_cpp.server SERVER ARGS...`` in the same process:

- ``--pdeathsig`` (Linux): ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, so the kernel
  dying hard (SIGKILL, OOM) sends the server SIGTERM at once. Done here rather
  than in a ``preexec_fn``, because ``preexec_fn`` is unsafe in a process with
  threads (every Jupyter kernel has some). The parent passes the flag only when
  it starts us from its main thread: PDEATHSIG fires when the *thread* that
  forked us exits, which would kill the server early if that was a worker thread.
- A daemon watchdog polls ``os.getppid()`` and sends us SIGTERM when we are
  reparented: the portable backstop (macOS, or a start from a worker thread).

The normal stop path is the parent's ``LocalServer.stop()`` (also run at exit).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_INTERVAL = 0.5  # seconds between parent checks


def _set_pdeathsig() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux, or no prctl: the watchdog still covers us


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_INTERVAL)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> None:
    """Parse the launcher arguments, arm the parent-death guards, run the server."""
    if "--" not in argv:
        raise SystemExit("usage: _launch.py PARENT_PID [--pdeathsig] -- SERVER ARGS...")
    split = argv.index("--")
    own, server_args = argv[:split], argv[split + 1 :]
    parent_pid = int(own[0])
    if "--pdeathsig" in own[1:] and sys.platform.startswith("linux"):
        _set_pdeathsig()
    if os.getppid() != parent_pid:
        # The parent died before the guards were armed.
        raise SystemExit(0)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()

    import runpy

    sys.argv = ["llama_cpp.server", *server_args]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    # Running by path put this folder first on sys.path; drop it so our module
    # names (server.py, ...) cannot shadow anything the server imports.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    main(sys.argv[1:])
