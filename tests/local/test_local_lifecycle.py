"""Starting, reusing, restarting and stopping the server, with fake servers (no model).

The fake servers are small Python scripts run through ``command_factory``: they
stand in for failure modes a real llama.cpp server shows only rarely.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from groq_magic.local import LocalModelError, LocalServer

NEVER_READY = """
import sys, time
print("loading weights", flush=True)
print("still loading", flush=True)
time.sleep(600)
"""

EXITS_AT_START = """
import sys
print("error: the model is corrupt", flush=True)
sys.exit(3)
"""

PORT_TAKEN = """
import sys
print("ERROR: [Errno 98] error while attempting to bind on address"
      " ('127.0.0.1', " + sys.argv[2] + "): address already in use", flush=True)
sys.exit(1)
"""

SILENT_EXIT = "import sys; sys.exit(2)"

MakeServer = Callable[..., LocalServer]
FakeCommand = Callable[[str], Callable[[Path, str, int], list[str]]]


def test_never_ready_server_is_a_clear_error_with_log_lines(
    make_local_server: MakeServer, fake_command: FakeCommand, gguf_file: Path
) -> None:
    srv = make_local_server(gguf_file, command_factory=fake_command(NEVER_READY), ready_timeout=1.0)
    with pytest.raises(LocalModelError) as caught:
        srv.start()
    message = str(caught.value)
    first, *rest = message.splitlines()
    assert first == "local model server did not become ready within 1 s; last log lines:"
    assert rest == ["    loading weights", "    still loading"]
    assert caught.value.log_tail == ["loading weights", "still loading"]
    assert not srv.running  # the stuck child was stopped, not left behind


def test_server_that_exits_at_start_is_a_clear_error(
    make_local_server: MakeServer, fake_command: FakeCommand, gguf_file: Path
) -> None:
    srv = make_local_server(gguf_file, command_factory=fake_command(EXITS_AT_START))
    with pytest.raises(LocalModelError) as caught:
        srv.start()
    assert str(caught.value).splitlines() == [
        "local model server exited at start (exit code 3); last log lines:",
        "    error: the model is corrupt",
    ]
    assert srv.status().last_exit_code == 3


def test_server_that_exits_silently_says_so(
    make_local_server: MakeServer, fake_command: FakeCommand, gguf_file: Path
) -> None:
    srv = make_local_server(gguf_file, command_factory=fake_command(SILENT_EXIT))
    with pytest.raises(LocalModelError, match=r"exit code 2\) \(the server wrote no log\)$"):
        srv.start()


def test_port_that_can_never_be_bound_gives_up_after_three_tries(
    make_local_server: MakeServer, fake_command: FakeCommand, gguf_file: Path
) -> None:
    ports = iter([40001, 40002, 40003, 40004])
    picked: list[int] = []

    def picker() -> int:
        picked.append(next(ports))
        return picked[-1]

    srv = make_local_server(gguf_file, command_factory=fake_command(PORT_TAKEN), port_picker=picker)
    with pytest.raises(LocalModelError) as caught:
        srv.start()
    assert picked == [40001, 40002, 40003]
    first = str(caught.value).splitlines()[0]
    assert first == (
        "local model server could not bind a port on 127.0.0.1 after 3 tries; last log lines:"
    )
    assert "address already in use" in str(caught.value)


def test_failed_start_leaves_the_object_usable(
    make_local_server: MakeServer, fake_command: FakeCommand, gguf_file: Path
) -> None:
    srv = make_local_server(gguf_file, command_factory=fake_command(EXITS_AT_START))
    for _ in range(2):
        with pytest.raises(LocalModelError, match="exited at start"):
            srv.ensure_running()
    assert srv.status().running is False
    assert str(srv.status()).startswith("local model server: not running")


def test_stop_when_never_started_is_a_no_op(make_local_server: MakeServer) -> None:
    srv = make_local_server()
    assert srv.stop() is False
    assert srv.status().running is False
    assert srv.base_url is None


def test_log_file_is_removed_after_a_failed_start(
    make_local_server: MakeServer,
    fake_command: FakeCommand,
    gguf_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    srv = make_local_server(gguf_file, command_factory=fake_command(EXITS_AT_START))
    with pytest.raises(LocalModelError):
        srv.start()
    assert not list(tmp_path.glob("groq_magic_local_*.log"))
    assert not [
        p
        for p in psutil.Process().children()
        if p.status() != psutil.STATUS_ZOMBIE and "groq_magic_fake_server" in " ".join(p.cmdline())
    ]


def test_logs_left_by_dead_processes_are_swept_at_the_next_start(
    make_local_server: MakeServer,
    fake_command: FakeCommand,
    gguf_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    stale = tmp_path / f"groq_magic_local_{dead_pid}_abc.log"
    live = tmp_path / f"groq_magic_local_{os.getpid()}_abc.log"
    other = tmp_path / "groq_magic_local_notes.log"
    for path in (stale, live, other):
        path.write_text("x")
    srv = make_local_server(gguf_file, command_factory=fake_command(EXITS_AT_START))
    with pytest.raises(LocalModelError):
        srv.start()
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
