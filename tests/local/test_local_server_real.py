"""The real llama.cpp server with the bundled SmolLM2 model: lifecycle and the adapter.

Each test starts its own server (about 1 s with the 135M model) and the autouse
fixture in conftest.py checks the process table afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil
import pytest

from groq_magic.local import (
    LOCAL_MODEL_NAME,
    LocalCompatTransport,
    LocalServer,
    free_port,
    get_local_server,
    stop_local_server,
    usage_notice,
)

pytestmark = pytest.mark.local_model

MakeServer = Callable[..., LocalServer]


def wait_gone(pid: int, within: float = 20.0) -> bool:
    """True once ``pid`` no longer runs (bounded wait; a zombie counts as gone).

    Polls instead of ``psutil.Process.wait``, which would reap our own child and
    hide its exit code from the ``subprocess.Popen`` that owns it.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_started_once_and_reused_by_every_call(make_local_server: MakeServer) -> None:
    srv = make_local_server()
    notices: list[str] = []
    url = srv.ensure_running(on_notice=notices.append)
    pid = srv.pid
    assert url == f"http://127.0.0.1:{srv.status().port}/v1"
    assert srv.ensure_running(on_notice=notices.append) == url
    assert srv.start() == url
    assert srv.pid == pid
    assert notices == []
    models = httpx.get(url + "/models").json()
    assert [m["id"] for m in models["data"]] == [LOCAL_MODEL_NAME]
    status = srv.status()
    assert (status.running, status.pid, status.restarts) == (True, pid, 0)
    assert status.model_path is not None
    assert status.model_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert str(status).startswith(f"local model server: running, pid {pid}, {url}")
    assert url in usage_notice(srv)


def test_port_conflict_is_retried_on_another_port(make_local_server: MakeServer) -> None:
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    picked: list[int] = []

    def picker() -> int:
        # First hand out the occupied port, as if another process won the race.
        picked.append(taken if not picked else free_port())
        return picked[-1]

    try:
        srv = make_local_server(port_picker=picker)
        url = srv.start()
    finally:
        squatter.close()
    assert len(picked) == 2
    assert picked[0] == taken
    assert url == f"http://127.0.0.1:{picked[1]}/v1"
    assert httpx.get(url + "/models").status_code == 200


def test_crashed_server_is_restarted_on_next_call_with_one_notice(
    make_local_server: MakeServer,
) -> None:
    srv = make_local_server()
    srv.ensure_running()
    first_pid = srv.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    assert wait_gone(first_pid)
    # A killed multi-threaded process shows as a zombie before its threads are gone,
    # and waitpid() reports it only after: wait until the owning Popen sees the exit.
    deadline = time.monotonic() + 20
    while srv.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not srv.running
    notices: list[str] = []
    url = srv.ensure_running(on_notice=notices.append)
    assert srv.pid not in (None, first_pid)
    assert len(notices) == 1
    assert "\n" not in notices[0]
    assert notices[0].startswith("The local model server had stopped (exit code -9)")
    assert srv.ensure_running(on_notice=notices.append) == url
    assert len(notices) == 1
    assert srv.status().restarts == 1


def test_stop_leaves_no_process(make_local_server: MakeServer) -> None:
    srv = make_local_server()
    srv.start()
    pid = srv.pid
    assert pid is not None
    assert srv.stop() is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    mine = [
        child
        for child in psutil.Process().children(recursive=True)
        if "llama_cpp.server" in " ".join(child.cmdline())
    ]
    assert mine == []
    assert str(srv.status()) == "local model server: not running"
    assert srv.stop() is False


def test_singleton_is_one_server_per_process() -> None:
    srv = get_local_server()
    assert get_local_server() is srv
    try:
        url = srv.ensure_running()
        assert get_local_server().ensure_running() == url
    finally:
        assert stop_local_server() is True
    assert stop_local_server() is False


CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from groq_magic.local import get_local_server
    srv = get_local_server()
    if sys.argv[1] == "thread-hang":
        # Started from a worker thread that then ends: no PDEATHSIG (it would
        # fire when that thread exits), so only the watchdog guards the server.
        worker = threading.Thread(target=srv.ensure_running)
        worker.start()
        worker.join()
    else:
        srv.ensure_running()
    print(srv.pid, flush=True)
    if sys.argv[1].endswith("hang"):
        time.sleep(600)
    """
)


def _child(mode: str) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    return child, int(line)


def test_server_stops_when_its_python_process_exits_normally() -> None:
    child, server_pid = _child("exit")
    assert child.wait(timeout=60) == 0
    assert wait_gone(server_pid)


def test_server_stops_when_its_python_process_is_killed() -> None:
    child, server_pid = _child("hang")
    assert psutil.Process(server_pid).is_running()
    child.kill()  # no atexit: PR_SET_PDEATHSIG / the watchdog must do it
    child.wait(timeout=60)
    assert wait_gone(server_pid)


def test_server_started_from_a_finished_thread_lives_on_and_dies_with_the_process() -> None:
    child, server_pid = _child("thread-hang")
    server = psutil.Process(server_pid)
    time.sleep(0.5)  # room for a wrongly armed PDEATHSIG to strike (not a timing check)
    assert server.is_running()
    assert server.status() != psutil.STATUS_ZOMBIE  # the thread's exit did not stop it
    child.kill()
    child.wait(timeout=60)
    assert wait_gone(server_pid)


def test_kernel_interrupt_signal_to_our_group_spares_the_server(
    make_local_server: MakeServer,
) -> None:
    srv = make_local_server()
    srv.start()
    assert srv.pid is not None
    assert os.getpgid(srv.pid) != os.getpgid(0)  # its own session: SIGINT to us misses it


# -- the adapter against the real server -------------------------------------------


@pytest.fixture
def local_client(make_local_server: MakeServer) -> Any:
    url = make_local_server().start()
    with httpx.Client(base_url=url, transport=LocalCompatTransport(), timeout=60) as client:
        yield client


def _ask(**fields: Any) -> dict[str, Any]:
    return {
        "model": LOCAL_MODEL_NAME,
        "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
        "temperature": 0,
        **fields,
    }


def test_max_completion_tokens_is_honoured(local_client: httpx.Client) -> None:
    body = local_client.post("/chat/completions", json=_ask(max_completion_tokens=4)).json()
    assert body["usage"]["completion_tokens"] == 4
    assert body["choices"][0]["finish_reason"] == "length"


def test_json_schema_gives_json_that_follows_it(local_client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    response = local_client.post(
        "/chat/completions",
        json={
            **_ask(response_format=fmt, max_completion_tokens=80),
            "messages": [{"role": "user", "content": "A person as JSON."}],
        },
    )
    assert response.status_code == 200
    data = json.loads(response.json()["choices"][0]["message"]["content"])
    assert isinstance(data["name"], str)
    assert isinstance(data["age"], int)


def test_stream_ends_with_usage_like_groq(local_client: httpx.Client) -> None:
    full = local_client.post("/chat/completions", json=_ask(max_completion_tokens=6)).json()
    frames: list[dict[str, Any]] = []
    with local_client.stream(
        "POST", "/chat/completions", json=_ask(max_completion_tokens=6, stream=True)
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and "[DONE]" not in line:
                frames.append(json.loads(line[5:]))
    usage = frames[-1]["x_groq"]["usage"]
    assert usage == full["usage"]  # the same numbers the server reports unstreamed
    assert frames[-1]["usage"] == usage


# -- the project's own client, through the same HTTP path as Groq -------------------


def test_groq_client_reaches_the_local_server_through_the_adapter(
    make_local_server: MakeServer,
) -> None:
    from groq_magic.client import Groq
    from groq_magic.local import LOCAL_API_KEY

    url = make_local_server().start()
    with Groq(api_key=LOCAL_API_KEY, base_url=url, transport=LocalCompatTransport()) as client:
        messages = [{"role": "user", "content": "Count from 1 to 20."}]
        done = client.chat.completions.create(
            messages=messages, model=LOCAL_MODEL_NAME, max_completion_tokens=5, temperature=0
        )
        assert done.usage is not None
        assert done.usage.completion_tokens == 5
        assert done.choices[0].finish_reason == "length"
        stream = client.chat.completions.create(
            messages=messages,
            model=LOCAL_MODEL_NAME,
            max_completion_tokens=5,
            temperature=0,
            stream=True,
        )
        with stream:
            text = "".join(
                chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
            )
        assert stream.text == text == done.choices[0].message.content
        assert stream.usage is not None
        assert stream.usage.completion_tokens == 5
        assert stream.usage.prompt_tokens == done.usage.prompt_tokens
        assert stream.completed


def test_an_answer_names_the_model_that_gave_it_whatever_was_asked(
    local_client: httpx.Client,
) -> None:
    # llama-cpp-python accepts any name and echoes it; a Groq name asked of the embedded
    # model must not come back as if that model had answered.
    asked = {**_ask(max_completion_tokens=2), "model": "llama-3.3-70b-versatile"}
    assert local_client.post("/chat/completions", json=asked).json()["model"] == LOCAL_MODEL_NAME
    with local_client.stream("POST", "/chat/completions", json={**asked, "stream": True}) as r:
        frames = [ln for ln in r.read().decode().splitlines() if ln.startswith("data: {")]
    assert {json.loads(f[len("data: ") :])["model"] for f in frames} == {LOCAL_MODEL_NAME}


def test_gguf_that_llama_cpp_cannot_load_is_a_clear_error(
    make_local_server: MakeServer, gguf_file: Any
) -> None:
    from groq_magic.local import LocalModelError

    srv = make_local_server(gguf_file)
    with pytest.raises(LocalModelError) as caught:
        srv.start()
    first = str(caught.value).splitlines()[0]
    assert first == (
        f"local model server could not load the model file {gguf_file.resolve()}"
        " (exit code 1); last log lines:"
    )
    assert "Failed to load model from file" in str(caught.value)
    assert not srv.running


def test_changing_the_model_variable_restarts_on_the_next_call(
    make_local_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groq_magic.local import MODEL_ENV, find_bundled_model

    srv = make_local_server()
    srv.ensure_running()
    first_pid = srv.pid
    bundled = find_bundled_model()
    assert bundled is not None
    monkeypatch.setenv(MODEL_ENV, str(bundled))  # same file, named explicitly
    notices: list[str] = []
    srv.ensure_running(on_notice=notices.append)
    assert srv.pid not in (None, first_pid)
    assert notices == [
        f"{MODEL_ENV} changed: the local model server now serves {bundled.resolve()}"
        f" (port {srv.status().port})."
    ]
    srv.ensure_running(on_notice=notices.append)
    assert len(notices) == 1
    assert srv.status().restarts == 0  # a requested change, not a crash
