"""MCP servers' tools in real ``%%groq --mcp`` cells: a real stdio server (and a
streamable-HTTP one) written with the SDK (``tests/mcp_server.py``), the scripted
server playing the model.

Servers are the kernel's (``kernel_servers()``): one started by a test stays up for
the next test with the same configuration, as it would in a notebook, and every
server is stopped when the module ends. Tests that crash, stop or time a start use
servers of their own names.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from magic_helpers import assert_clean, sent
from scripted_server import MODEL, completion_reply
from turn_replies import Call, answer_stream, message_calls, tool_reply, tool_stream

from groq_magic.chat.conversation import FILE_FORMAT, FILE_VERSION
from groq_magic.chat.tools.approval import DENIED, NEVER, UNANSWERED
from groq_magic.mcp import kernel_servers

SERVER = str(Path(__file__).resolve().parents[1] / "mcp_server.py")
STREAMS = pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
TOOL_NAMES = ["echo", "add", "weather", "pixel", "fail", "crash", "slow", "note", "env_value"]
VISION = "meta-llama/llama-4-scout-17b-16e-instruct"


def stdio(*args: str, **extra: Any) -> dict[str, Any]:
    """A stdio entry running the test server with ``args``."""
    return {"command": sys.executable, "args": [SERVER, *args], **extra}


@pytest.fixture(scope="module", autouse=True)
def _servers_stopped_after_module() -> Iterator[None]:
    yield
    kernel_servers().stop()


@pytest.fixture
def mcp(groq: Any) -> Iterator[Any]:
    """The harness with servers ``t`` and ``t2`` configured (same program, two names)."""
    magics = groq.magics
    names = ("mcp_servers", "mcp_config", "mcp_start_timeout", "approve", "mcp")
    saved = {name: getattr(magics, name) for name in names}
    magics.mcp_servers = {"t": stdio(), "t2": stdio("--name", "second")}
    try:
        yield groq
    finally:
        for name, value in saved.items():
            setattr(magics, name, value)


def chats(groq: Any) -> list[dict[str, Any]]:
    return [r.json() for r in groq.server.requests if r.path.endswith("/chat/completions")]


def final(text: str, *, stream: bool) -> Any:
    return answer_stream(text) if stream else completion_reply(text)


def flags(stream: bool) -> str:
    return "" if stream else " --no-stream"


def status_of(run: Any, model: str = MODEL) -> str:
    [line] = [line for line in run.out.splitlines() if line.startswith(f"{model} · ")]
    return line


def one_call(groq: Any, call: Call, cell: str, *, stream: bool = True, model: str = MODEL) -> Any:
    """A cell whose model makes ``call`` once, then answers "Done."."""
    if stream:
        groq.server.enqueue(tool_stream([call], model=model), answer_stream("Done.", model=model))
    else:
        groq.server.enqueue(tool_reply([call], stream=False), completion_reply("Done."))
    run = groq.run(cell + flags(stream) + "\nGo.")
    assert run.error is None, run.err
    return run


# -- offered, called, answered ------------------------------------------------------------------


@STREAMS
def test_the_servers_tools_are_offered_called_and_answered(mcp: Any, stream: bool) -> None:
    run = one_call(
        mcp, ("c1", "add", '{"a": 2, "b": 40}'), "%%groq --mcp t --approve always", stream=stream
    )
    first, second = chats(mcp)
    offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert list(offered) == TOOL_NAMES  # the server's names, in its order, unprefixed
    # The server's JSON schema, exactly as it gives it (FastMCP's titles included).
    assert offered["add"]["parameters"] == {
        "properties": {
            "a": {"title": "A", "type": "integer"},
            "b": {"title": "B", "type": "integer"},
        },
        "required": ["a", "b"],
        "title": "addArguments",
        "type": "object",
    }
    assert offered["add"]["description"].startswith("Add two whole numbers.")
    assert second["tools"] == first["tools"]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": message_calls([("c1", "add", '{"a": 2, "b": 40}')]),
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    [call] = run.result.tool_calls
    assert call["name"] == "add"
    assert call["server"] == "t"
    assert call["arguments"] == {"a": 2, "b": 40}
    assert call["result"] == 42
    assert call["error"] is None
    assert run.result.text == "Done."
    assert "🔌 t/add(a=2, b=40) → 42 · " in run.out
    [turn] = mcp.turns()
    assert turn.tool_calls[0]["server"] == "t"


def test_json_results_and_parallel_calls(mcp: Any) -> None:
    calls: list[Call] = [
        ("c1", "weather", '{"city": "Oslo"}'),
        ("c2", "echo", '{"text": "hi"}'),
        ("c3", "env_value", '{"name": "MCP_TEST_SETTING"}'),
    ]
    mcp.magics.mcp_servers = {"e": stdio(env={"MCP_TEST_SETTING": "from-config"})}
    mcp.server.enqueue(tool_stream(calls), answer_stream("Done."))
    run = mcp.run("%%groq --mcp e --approve always\nGo.")
    assert run.error is None, run.err
    results = [c["result"] for c in run.result.tool_calls]
    assert results == [{"city": "Oslo", "celsius": 12, "sky": "rain"}, "echo: hi", "from-config"]
    assert [m["content"] for m in sent(mcp.server)["messages"][2:]] == [
        '{"city":"Oslo","celsius":12,"sky":"rain"}',
        "echo: hi",
        "from-config",
    ]


def test_an_image_goes_to_a_model_that_reads_images(mcp: Any) -> None:
    one_call(
        mcp, ("c1", "pixel", "{}"), f"%%groq --mcp t --approve always -m {VISION}", model=VISION
    )
    messages = sent(mcp.server)["messages"]
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "[image 1: image/png, 0.1 KB]",
    }
    text, label, image = messages[3]["content"]
    assert messages[3]["role"] == "user"
    assert text["text"] == "The images the tool calls above returned:"
    assert label["text"] == "pixel, image 1: image/png, 0.1 KB:"
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_an_image_is_only_named_to_a_model_that_reads_none(mcp: Any) -> None:
    run = one_call(mcp, ("c1", "pixel", "{}"), "%%groq --mcp t --approve always")
    messages = sent(mcp.server)["messages"]
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "[image 1: image/png, 0.1 KB]",
    }
    assert run.result.tool_calls[0]["result"].images[0].mime_type == "image/png"


def test_names_are_prefixed_only_where_they_clash(mcp: Any) -> None:
    def echo(text: str) -> str:
        """The notebook's own echo."""
        return f"notebook: {text}"

    mcp.ns["echo"] = echo
    calls: list[Call] = [("c1", "echo", '{"text": "a"}'), ("c2", "t__echo", '{"text": "b"}')]
    mcp.server.enqueue(tool_stream(calls), answer_stream("Done."))
    run = mcp.run("%%groq -T echo --mcp t --approve always\nGo.")
    assert run.error is None, run.err
    names = [t["function"]["name"] for t in chats(mcp)[0]["tools"]]
    assert names == ["echo", "t__echo", *TOOL_NAMES[1:]]
    assert [c["result"] for c in run.result.tool_calls] == ["notebook: a", "echo: b"]
    # Two servers with the same tools: each server's tools carry its name.
    mcp.server.enqueue(answer_stream("Hi."))
    assert mcp.run("%%groq --mcp t,t2\nHi.").error is None
    names = [t["function"]["name"] for t in sent(mcp.server)["tools"]]
    assert names == [f"{s}__{n}" for s in ("t", "t2") for n in TOOL_NAMES]


# -- approval ---------------------------------------------------------------------------------


def test_approve_never_runs_nothing_and_tells_the_model(mcp: Any, tmp_path: Path) -> None:
    target = tmp_path / "never.txt"
    arguments = json.dumps({"path": str(target), "text": "x"})
    run = one_call(mcp, ("c1", "note", arguments), "%%groq --mcp t --approve never")
    assert not target.exists()
    assert sent(mcp.server)["messages"][-1]["content"] == NEVER
    assert run.result.tool_calls[0]["error"] == NEVER
    assert f"⚠ {NEVER}" in run.out
    assert run.result.text == "Done."


def test_ask_with_no_one_to_answer_refuses_in_one_line(mcp: Any, tmp_path: Path) -> None:
    """The default for MCP tools is ask; this shell has no frontend and no stdin."""
    target = tmp_path / "asked.txt"
    arguments = json.dumps({"path": str(target), "text": "x"})
    run = one_call(mcp, ("c1", "note", arguments), "%%groq --mcp t")
    assert not target.exists()
    assert sent(mcp.server)["messages"][-1]["content"] == UNANSWERED
    lines = [line for line in run.out.splitlines() if "not run:" in line]
    assert len(lines) == 1
    assert lines[0].endswith(f"⚠ {UNANSWERED}")
    assert "Traceback" not in run.out + run.err
    assert run.result.status == "complete"


def test_an_approver_is_asked_with_the_call_and_its_answer_holds(mcp: Any, tmp_path: Path) -> None:
    asked: list[Any] = []
    answers = iter([False, True])

    def approver(request: Any) -> bool:
        asked.append(request)
        return next(answers)

    mcp.session.approver = approver
    target = tmp_path / "approved.txt"
    arguments = json.dumps({"path": str(target), "text": "yes"})
    one_call(mcp, ("c1", "note", arguments), "%%groq --mcp t")
    assert sent(mcp.server)["messages"][-1]["content"] == DENIED
    assert not target.exists()
    one_call(mcp, ("c2", "note", arguments), "%%groq --mcp t")
    assert target.read_text() == "yes"
    assert [(r.tool, r.server, dict(r.arguments)) for r in asked] == [
        ("note", "t", {"path": str(target), "text": "yes"})
    ] * 2
    assert asked[0].describe().startswith('note(path="')


def test_notebook_functions_run_unasked_unless_the_cell_says_ask(mcp: Any) -> None:
    asked: list[Any] = []

    def approver(request: Any) -> bool:
        asked.append(request)
        return False

    def shout(text: str) -> str:
        """Upper case."""
        return text.upper()

    mcp.session.approver = approver
    mcp.ns["shout"] = shout
    one_call(mcp, ("c1", "shout", '{"text": "a"}'), "%%groq -T shout")
    assert sent(mcp.server)["messages"][-1]["content"] == "A"
    assert asked == []
    one_call(mcp, ("c2", "shout", '{"text": "a"}'), "%%groq -T shout --approve ask")
    assert sent(mcp.server)["messages"][-1]["content"] == DENIED
    assert [(r.tool, r.server) for r in asked] == [("shout", None)]


# -- lifetime ---------------------------------------------------------------------------------


def test_start_up_time_on_the_status_line_then_kept(mcp: Any) -> None:
    mcp.magics.mcp_servers = {"life": stdio()}
    mcp.server.enqueue(answer_stream("One."), answer_stream("Two."))
    run = mcp.run("%%groq --mcp life\nOne.")
    assert run.error is None, run.err
    assert " · mcp life started in " in status_of(run)
    run = mcp.run("%%groq --mcp life\nTwo.")
    assert "mcp life" not in status_of(run)
    assert "life" in kernel_servers().running()
    listing = mcp.run("%groq mcp")
    assert listing.error is None
    rows = listing.result.rows
    assert rows[0]["server"] == "life"
    assert rows[0]["status"].startswith("running · started in ")
    assert [(r["tool"], r["description"]) for r in rows[:2]] == [
        ("echo", "Say the text back."),
        ("add", "Add two whole numbers."),
    ]
    stop = mcp.run("%groq mcp stop life")
    assert repr(stop.result) == "stopped mcp server life"
    assert "life" not in kernel_servers().running()
    assert mcp.run("%groq mcp").result.rows[0]["status"] == "stopped"


def test_a_crash_mid_call_goes_to_the_model_and_the_next_use_restarts_once(mcp: Any) -> None:
    mcp.magics.mcp_servers = {"crashy": stdio()}
    run = one_call(mcp, ("c1", "crash", "{}"), "%%groq --mcp crashy --approve always")
    line = sent(mcp.server)["messages"][-1]["content"]
    assert line.startswith(
        "mcp server 'crashy' stopped during the call to crash (it crashed or exited)"
    )
    assert "crash: going down now" in line
    assert run.result.status == "complete"
    mcp.server.enqueue(answer_stream("Back."))
    run = mcp.run("%%groq --mcp crashy\nAgain.")
    assert run.error is None, run.err
    assert " · mcp crashy restarted after a crash in " in status_of(run)
    one_call(mcp, ("c2", "crash", "{}"), "%%groq --mcp crashy --approve always")
    before, requests = mcp.history_json(), len(chats(mcp))
    run = mcp.run("%%groq --mcp crashy\nThird time.")
    assert run.usage_error == (
        "mcp server 'crashy' crashed again after its restart, so it was left stopped;"
        " %groq mcp start crashy tries again"
    )
    assert (mcp.history_json(), len(chats(mcp))) == (before, requests)
    assert mcp.run("%groq mcp start crashy").result.lines[0].startswith("mcp crashy started in ")


def test_the_stop_button_ends_a_waiting_call(mcp: Any) -> None:
    mcp.magics.mcp_servers = {"waits": stdio()}
    mcp.server.enqueue(answer_stream("Ready."))
    assert mcp.run("%%groq --mcp waits\nReady?").error is None  # started, so only the call waits
    mcp.server.enqueue(tool_stream([("c1", "slow", '{"seconds": 30}')]))
    timer = threading.Timer(
        1.5, lambda: signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    )
    begun = time.perf_counter()
    timer.start()
    run = mcp.run("%%groq --mcp waits --approve always\nWait.")
    timer.join()
    assert time.perf_counter() - begun < 10  # a hang guard, not a latency check
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    assert run.result.status == "interrupted"
    assert run.result.tool_calls[0]["error"] == "interrupted by the user before this tool finished"
    # The server is still there for the next call.
    one_call(mcp, ("c2", "echo", '{"text": "still here"}'), "%%groq --mcp waits --approve always")
    assert sent(mcp.server)["messages"][-1]["content"] == "echo: still here"


# -- bad input: one line naming the server, nothing sent, history kept -------------------------


@pytest.mark.parametrize(
    ("servers", "cell", "line"),
    [
        (
            {"t": stdio()},
            "--mcp nowhere",
            "--mcp: no mcp server named 'nowhere' (servers: t)",
        ),
        (
            {"gone": {"command": "no-such-mcp-server-program"}},
            "--mcp gone",
            "mcp server 'gone': command 'no-such-mcp-server-program' was not found (is it"
            " installed, and on PATH?)",
        ),
        (
            {"quits": stdio("--mode", "exit")},
            "--mcp quits",
            "mcp server 'quits' exited as it started: test server: refusing to start (--mode exit)",
        ),
        (
            {"t": stdio()},
            "--mcp t --json",
            "--mcp cannot be combined with --json or --schema: Groq does not allow JSON mode"
            " with tools",
        ),
        ({"t": stdio()}, "--mcp 'a b'", "--mcp: no mcp server named 'a b' (servers: t)"),
    ],
    ids=["unknown", "no-command", "exits-at-once", "json", "bad-name"],
)
def test_bad_servers_are_one_line_before_anything_is_sent(
    mcp: Any, servers: dict[str, Any], cell: str, line: str
) -> None:
    mcp.server.enqueue(answer_stream("Earlier."))
    assert mcp.run("%%groq\nEarlier.").error is None
    mcp.magics.mcp_servers = servers
    before, requests = mcp.history_json(), len(chats(mcp))
    run = mcp.run(f"%%groq {cell}\nGo.")
    assert run.usage_error == line
    assert (mcp.history_json(), len(chats(mcp))) == (before, requests)


def test_a_server_that_hangs_at_start_is_stopped_after_the_wait(mcp: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    mcp.magics.mcp_servers = {"stuck": stdio("--mode", "hang", "--pid-file", str(pid_file))}
    mcp.magics.mcp_start_timeout = 4
    before = mcp.history_json()
    run = mcp.run("%%groq --mcp stuck\nGo.")
    assert run.usage_error == (
        "mcp server 'stuck' did not finish starting within 4 s (its last words: test server:"
        " hanging before initialize); it was stopped (%config GroqMagics.mcp_start_timeout"
        " sets the wait)"
    )
    assert chats(mcp) == []
    assert mcp.history_json() == before
    assert not _alive(int(pid_file.read_text()))


def test_the_stop_button_while_a_server_starts(mcp: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    mcp.magics.mcp_servers = {"slowstart": stdio("--mode", "hang", "--pid-file", str(pid_file))}
    before = mcp.history_json()
    timer = threading.Timer(
        3.0, lambda: signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    )
    timer.start()
    run = mcp.run("%%groq --mcp slowstart\nGo.")
    timer.join()
    assert run.usage_error == (
        "mcp server 'slowstart': interrupted while it was starting; nothing was sent"
    )
    assert chats(mcp) == []
    assert mcp.history_json() == before
    deadline = time.monotonic() + 10
    while _alive(int(pid_file.read_text())) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid_file.read_text()))


def test_the_approval_default_from_config(mcp: Any, tmp_path: Path) -> None:
    target = tmp_path / "configured.txt"
    arguments = json.dumps({"path": str(target), "text": "ok"})
    assert mcp.run('%config GroqMagics.approve = "always"').error is None
    one_call(mcp, ("c1", "note", arguments), "%%groq --mcp t")
    assert target.read_text() == "ok"
    assert mcp.run('%config GroqMagics.approve = "maybe"').error is None  # refused, logged
    assert mcp.magics.approve == "always"
    one_call(mcp, ("c2", "note", arguments), "%%groq --mcp t --approve never")
    assert sent(mcp.server)["messages"][-1]["content"] == NEVER  # the cell wins


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ([], "GroqMagics.mcp_servers must be an object of server names to settings (got list)"),
        ({"x": {"args": []}}, "GroqMagics.mcp_servers: server 'x' needs \"command\""),
        (
            {"x": {"command": "a", "args": "b"}},
            "server 'x': args must be a list of strings (got str)",
        ),
        (
            {"x": {"command": "a", "url": "http://h"}},
            'or "url" (a streamable-HTTP server), not both',
        ),
        (
            {"x": {"url": "ftp://h"}},
            "server 'x': url must start with http:// or https:// (got a URL)",
        ),
        (
            {"x": {"command": "a", "env": {"K": 5}}},
            "server 'x': env 'K' must be a string (got int)",
        ),
        (
            {"x": {"command": "a", "timeout": 5}},
            "server 'x': unknown key 'timeout' (it takes command, args, env, cwd)",
        ),
        ({"x": {"type": "sse", "url": "http://h"}}, "server 'x': type 'sse' is not supported"),
    ],
    ids=["list", "no-command", "args", "both", "url", "env", "unknown-key", "sse"],
)
def test_a_config_of_the_wrong_shape_is_one_line_and_not_taken(
    mcp: Any, value: Any, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = mcp.magics.mcp_servers
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        run = mcp.run(f"%config GroqMagics.mcp_servers = {value!r}")
    assert run.error is None
    assert "Traceback" not in run.out + run.err
    [message] = [r.getMessage() for r in caplog.records]
    assert line in message
    assert "\n" not in message
    assert message.endswith("; the setting was not changed")
    assert mcp.magics.mcp_servers == before


def test_a_config_file_from_the_environment(
    mcp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"filed": stdio()}}))
    mcp.magics.mcp_servers = None
    monkeypatch.setenv("GROQ_MAGIC_MCP_CONFIG", str(path))
    run = one_call(
        mcp, ("c1", "echo", '{"text": "from a file"}'), "%%groq --mcp filed --approve always"
    )
    assert run.result.tool_calls[0]["result"] == "echo: from a file"
    path.write_text(json.dumps({"mcpServers": {"filed": {"command": 7}}}))
    before, requests = mcp.history_json(), len(chats(mcp))
    run = mcp.run("%%groq --mcp filed\nGo.")
    assert (
        run.usage_error
        == f"mcp config {path}: server 'filed': command must be a program name (got int)"
    )
    assert (mcp.history_json(), len(chats(mcp))) == (before, requests)


def test_config_secrets_reach_the_server_and_nothing_else(mcp: Any) -> None:
    secret = "gsk_" + "S3cr3tV4lu3" * 4
    mcp.magics.mcp_servers = {
        "keyed": stdio("--api-key", secret, env={"MCP_TEST_SETTING": secret}),
    }
    run = one_call(
        mcp,
        ("c1", "env_value", '{"name": "MCP_TEST_SETTING"}'),
        "%%groq --mcp keyed --approve always",
    )
    # The server got the key (its answer is key-shaped), and what came back is masked
    # before the model, the screen or history see it.
    assert run.result.tool_calls[0]["result"] == "[redacted]"
    assert sent(mcp.server)["messages"][-1]["content"] == "[redacted]"
    shown = [mcp.run("%groq mcp"), mcp.run("%groq config")]
    for each in [run, *shown]:
        text = repr(each.result) + each.out + each.err
        if hasattr(each.result, "_repr_markdown_"):
            text += each.result._repr_markdown_()
        assert "S3cr3t" not in text
    assert "--api-key [redacted]" in repr(shown[0].result)
    assert_clean(*(r.everything for r in shown))
    assert "S3cr3t" not in mcp.history_json()


def test_a_loaded_turn_starts_no_server_and_runs_no_tool(mcp: Any, tmp_path: Path) -> None:
    """A chat file is data: its turn's --mcp and --approve always are not taken from it."""
    mcp.magics.mcp_servers = {"loaded": stdio()}
    turn = {
        "prompt": "Write the note.",
        "answer": "",
        "options": {"mcp": ["loaded"], "approve": "always"},
    }
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps({"format": FILE_FORMAT, "version": FILE_VERSION, "name": "c", "turns": [turn]})
    )
    assert mcp.run(f"%groq load {path}").error is None
    mcp.server.enqueue(answer_stream("Just words."))
    run = mcp.run("%groq retry")
    assert run.error is None, run.err
    assert "tools" not in sent(mcp.server)
    assert "loaded" not in kernel_servers().running()
    # Named on the retry line, it is the user's choice again.
    mcp.server.enqueue(answer_stream("With tools."))
    run = mcp.run("%groq --mcp loaded retry")
    assert run.error is None, run.err
    assert [t["function"]["name"] for t in sent(mcp.server)["tools"]] == TOOL_NAMES


# -- streamable HTTP --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, SERVER, "--http", str(port), "--name", "web"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@STREAMS
def test_a_streamable_http_server(mcp: Any, http_server: str, stream: bool) -> None:
    mcp.magics.mcp_servers = {"web": {"url": http_server, "headers": {"X-Test": "yes"}}}
    run = one_call(
        mcp, ("c1", "add", '{"a": 1, "b": 2}'), "%%groq --mcp web --approve always", stream=stream
    )
    assert run.result.tool_calls[0] == {
        "name": "add",
        "arguments": {"a": 1, "b": 2},
        "result": 3,
        "error": None,
        "seconds": run.result.tool_calls[0]["seconds"],
        "server": "web",
    }
    kernel_servers().stop("web")


def test_an_http_server_that_dies_mid_call(mcp: Any, http_server: str) -> None:
    """The SDK would wait for ever; the call ends, the model is told, the turn goes on."""
    mcp.magics.mcp_servers = {"web": {"url": http_server}}
    begun = time.perf_counter()
    run = one_call(mcp, ("c1", "crash", "{}"), "%%groq --mcp web --approve always")
    assert time.perf_counter() - begun < 30  # a hang guard, not a latency check
    line = sent(mcp.server)["messages"][-1]["content"]
    assert line.startswith(
        "mcp server 'web' stopped during the call to crash (it crashed or exited)"
    )
    assert run.result.status == "complete"
    # Its next use tries to start it again: it is gone, so that is one line.
    before, requests = mcp.history_json(), len(chats(mcp))
    run = mcp.run("%%groq --mcp web\nAgain.")
    assert run.usage_error.startswith(f"mcp server 'web' at {http_server} could not be started: ")
    assert (mcp.history_json(), len(chats(mcp))) == (before, requests)


def test_an_unreachable_http_server_is_one_line(mcp: Any) -> None:
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    mcp.magics.mcp_servers = {"away": {"url": url}}
    mcp.magics.mcp_start_timeout = 20
    run = mcp.run("%%groq --mcp away\nGo.")
    assert run.usage_error.startswith(f"mcp server 'away' at {url} could not be started: ")
    assert chats(mcp) == []


# -- the kernel's exit ---------------------------------------------------------------------------


def test_servers_stop_when_the_kernel_exits(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import sys\n"
        "from groq_magic.mcp import MCPSettings, kernel_servers\n"
        f"servers = kernel_servers(lambda: MCPSettings({{'x': {{'command': sys.executable,"
        f" 'args': [{SERVER!r}, '--pid-file', {str(pid_file)!r}]}}}}))\n"
        "print(len(servers.toolset(['x']).tools))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(TOOL_NAMES))
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
