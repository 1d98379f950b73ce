"""A real Jupyter kernel: the server it starts is gone once the kernel is gone.

Checked in the process table, for a normal shutdown (atexit) and for a kernel
killed outright (SIGKILL: the child's PR_SET_PDEATHSIG / parent watchdog).
"""

from __future__ import annotations

from typing import Any

import psutil
import pytest
from jupyter_client.manager import start_new_kernel
from test_local_server_real import wait_gone

pytestmark = pytest.mark.local_model

START = (
    "from groq_magic.local import get_local_server\n"
    "srv = get_local_server()\n"
    "srv.ensure_running()\n"
    "print(srv.pid, flush=True)\n"
)


def _server_pid_in_new_kernel() -> tuple[Any, Any, int]:
    km, kc = start_new_kernel(kernel_name="python3")
    texts: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            texts.append(msg["content"]["text"])

    reply = kc.execute_interactive(START, output_hook=keep, timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]
    pid = int("".join(texts).split()[0])
    assert psutil.Process(pid).is_running()
    return km, kc, pid


@pytest.mark.parametrize("now", [False, True], ids=["shutdown", "killed"])
def test_server_is_gone_after_the_kernel_exits(now: bool) -> None:
    km, kc, pid = _server_pid_in_new_kernel()
    kc.stop_channels()
    km.shutdown_kernel(now=now)
    assert wait_gone(pid)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
