"""%%groq --compare and list-valued flags, through the real magic against a loopback server."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from IPython.core.error import UsageError
from scripted_server import RecordedRequest, Reply, chunk_events, error_reply, sse_reply
from ui_fakes import (
    FakeClock,
    RecordingDisplay,
    RoutedServer,
    ZMQInteractiveShell,
    echo_responder,
)

from groq_magic.chat import ChatOptions
from groq_magic.sweeps.runner import TABLE_COLUMNS, SharedBackoff
from groq_magic.ui.compare import run_compare


def _params(body: dict[str, Any]) -> tuple[Any, ...]:
    return (body["model"], body.get("temperature"), body.get("seed"))


def test_every_combination_is_requested_once_with_its_parameters(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    table = ip.run_cell_magic("groq", "--compare alpha,beta -t 0,0.7,1.2 --seed 3", "Say hi.")
    sent = sorted(_params(b) for b in routed.chat_bodies())
    assert sent == sorted((m, t, 3) for m in ("alpha", "beta") for t in (0.0, 0.7, 1.2))
    for body in routed.chat_bodies():
        assert body["stream"] is True
        assert body["messages"][-1] == {"role": "user", "content": "Say hi."}
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert [(r.model, r.temperature) for r in table.itertuples()] == [
        (m, t) for m in ("alpha", "beta") for t in (0.0, 0.7, 1.2)
    ]
    row = table.iloc[4]
    assert row.text == "answer: model=beta temperature=0.7 seed=3"
    assert (row.status, row.finish_reason, row.prompt_tokens, row.completion_tokens) == (
        "complete",
        "stop",
        18,
        3,
    )
    assert row.time_to_first_token is not None
    assert row.tokens_per_second > 0
    assert ip.user_ns["_groq"] is table
    # Without a widget frontend every pane is printed as plain text: header, answer, status.
    out = capsys.readouterr().out
    assert out.count("── ") == 6
    pane = "── beta · temperature 0.7\nanswer: model=beta temperature=0.7 seed=3\nbeta · TTFT"
    assert pane in out


def test_compare_never_changes_history(ip: Any, routed: RoutedServer) -> None:
    session = ip._groq_magics.session
    before = session.store.current.to_json()
    ip.run_cell_magic("groq", "--compare alpha,beta", "Say hi.")
    assert session.store.current.to_json() == before


def test_out_stores_the_table(ip: Any, routed: RoutedServer) -> None:
    table = ip.run_cell_magic("groq", "-t 0,1 -m alpha -o grid_table", "Hi")
    assert ip.user_ns["grid_table"] is table


def test_unknown_model_fails_in_its_pane_and_the_others_succeed(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    table = ip.run_cell_magic("groq", "--compare alpha,nope,beta", "Hi")
    assert list(table.status) == ["complete", "error", "complete"]
    assert table.error[1].startswith("404 model_not_found: The model `nope` does not exist")
    assert table.text[0] == "answer: model=alpha"
    assert table.text[2] == "answer: model=beta"
    out = capsys.readouterr().out
    assert "── nope\nerror: 404 model_not_found" in out


def test_repeat_sends_distinct_seeds(ip: Any, routed: RoutedServer) -> None:
    table = ip.run_cell_magic("groq", "-m alpha --repeat 3", "Hi")
    assert sorted(b["seed"] for b in routed.chat_bodies()) == [0, 1, 2]
    assert list(table.seed) == [0, 1, 2]
    routed.requests.clear()
    ip.run_cell_magic("groq", "-m alpha --seed 7 --repeat 2 -t 0,1", "Hi")
    assert sorted((b["temperature"], b["seed"]) for b in routed.chat_bodies()) == [
        (0.0, 7),
        (0.0, 8),
        (1.0, 7),
        (1.0, 8),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-m alpha -t 0,5", "--temperature must be between 0 and 2 (got 5.0)"),
        ("-m alpha -t ,", "--temperature needs at least one value"),
        ("--compare alpha, -t 0", "--compare has an empty item in 'alpha,'"),
        (
            "--compare a,b,c,d,e -t 0,0.1,0.2,0.3 --top-p 0.1,0.2,0.3,0.4",
            "the grid has 80 runs (5 compare x 4 temperature x 4 top-p); the limit is 64:"
            " use fewer values (groq_magic.sweep runs a grid of any size, without panes)",
        ),
        ("-m alpha --repeat -2", "--repeat must be a whole number >= 1 (got -2)"),
        ("--compare alpha,beta --ui", "--ui and a compare (--compare or list values) cannot"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_sent(
    ip: Any, routed: RoutedServer, line: str, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("groq", line, "Hi")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    assert routed.requests == []


def test_empty_prompt_and_missing_template_name_fail_before_sending(
    ip: Any, routed: RoutedServer
) -> None:
    with pytest.raises(UsageError, match="the cell is empty"):
        ip.run_cell_magic("groq", "--compare alpha,beta", "  \n")
    with pytest.raises(UsageError, match="no_such_name"):
        ip.run_cell_magic("groq", "--compare alpha,beta", "Tell me about {no_such_name}")
    assert routed.requests == []


def test_template_is_filled_once_for_every_run(ip: Any, routed: RoutedServer) -> None:
    ip.user_ns["city"] = "Lyon"
    ip.run_cell_magic("groq", "--compare alpha,beta", "Describe {city}.")
    assert {b["messages"][-1]["content"] for b in routed.chat_bodies()} == {"Describe Lyon."}


def test_panes_in_a_live_notebook_stream_into_one_display_each(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    display = RecordingDisplay()
    table = run_compare(
        ip._groq_magics.session,
        ChatOptions(),
        {"model": ["alpha", "nope"], "temperature": [0.0, 1.0]},
        "Hi",
        {},
        repeat=1,
        shell=ZMQInteractiveShell(),
        display=display,
    )
    assert len(display.handles) == 4  # one display per pane, then only updates
    first = display.handles[0]
    assert first.bundles[0]["text/markdown"] == "**alpha · temperature 0.0**\n\n*waiting…*"
    final = first.markdown
    assert final.startswith("**alpha · temperature 0.0**\n\nanswer: model=alpha temperature=0.0")
    assert final.endswith("stop*")
    assert "TTFT" in final
    assert "error: 404 model\\_not\\_found" in display.handles[2].markdown
    assert capsys.readouterr().out == ""  # nothing printed: the panes are the output
    assert list(table.status) == ["complete", "complete", "error", "error"]


def _limited(delay_hint: str | None) -> Reply:
    message = "Rate limit reached for model `alpha`."
    if delay_hint:
        message += f" Please try again in {delay_hint}."
    return error_reply(429, message, type="requests", code="rate_limit_exceeded")


def test_a_429_pauses_every_start_until_the_shared_resume_time(ip: Any) -> None:
    """alpha's 429 says 3 s: nothing is sent again before then, and only one wait happens."""
    clock = FakeClock()
    received: list[tuple[str, int, float]] = []
    gamma_or_retry = threading.Event()

    def responder(request: RecordedRequest) -> Reply:
        model = request.json()["model"]
        attempt = server.count(model)
        received.append((model, attempt, clock.now))
        if model == "alpha" and attempt == 1:
            return _limited("3s")
        if model == "beta":
            # Hold beta's slot until the 429 has been acted on, so gamma queues behind the gate.
            gamma_or_retry.wait(timeout=10)
        else:
            gamma_or_retry.set()
        return echo_responder(request)

    with RoutedServer(responder) as server:
        ip.run_line_magic("config", f"GroqMagics.base_url = {server.base_url!r}")
        try:
            backoff = SharedBackoff(clock=clock, sleep=clock.sleep, rand=lambda: 0.0)
            table = run_compare(
                ip._groq_magics.session,
                ChatOptions(),
                {"model": ["alpha", "beta", "gamma"]},
                "Hi",
                {},
                repeat=1,
                shell=None,
                concurrency=2,
                backoff=backoff,
                pacer=False,  # the unpaced path: a 429 pauses every run
            )
        finally:
            ip.run_line_magic("config", "GroqMagics.base_url = None")
    assert server.attempts == {"alpha": 2, "beta": 1, "gamma": 1}
    assert list(table.status) == ["complete", "complete", "complete"]
    assert clock.slept == [3.0]  # the first waiter waits; the clock has then passed for all
    after_429 = [(m, a, t) for m, a, t in received if (m, a) in {("alpha", 2), ("gamma", 1)}]
    assert len(after_429) == 2
    assert all(t >= 1003.0 for _, _, t in after_429)


def test_429_without_a_hint_backs_off_exponentially_and_gives_up_after_three_retries(
    ip: Any,
) -> None:
    clock = FakeClock()

    def responder(request: RecordedRequest) -> Reply:
        model = request.json()["model"]
        server.count(model)
        return _limited(None) if model == "alpha" else echo_responder(request)

    with RoutedServer(responder) as server:
        ip.run_line_magic("config", f"GroqMagics.base_url = {server.base_url!r}")
        try:
            table = run_compare(
                ip._groq_magics.session,
                ChatOptions(),
                {"model": ["alpha", "beta"]},
                "Hi",
                {},
                repeat=1,
                shell=None,
                concurrency=1,
                backoff=SharedBackoff(clock=clock, sleep=clock.sleep, rand=lambda: 0.0),
                pacer=False,  # the unpaced path: a 429 pauses every run
            )
        finally:
            ip.run_line_magic("config", "GroqMagics.base_url = None")
    # One try and three retries: the client itself did not retry (max_retries=0 view).
    assert server.attempts == {"alpha": 4, "beta": 1}
    assert clock.slept == [0.5, 1.0, 2.0]
    assert list(table.status) == ["error", "complete"]
    assert table.error[0].startswith("429 rate_limit_exceeded")


def test_interrupt_keeps_partial_answers_and_says_so_once(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pieces = [f"w{i} " for i in range(40)]

    def responder(request: RecordedRequest) -> Reply:
        return sse_reply(chunk_events(pieces, model=request.json()["model"]), delay=0.1)

    class InterruptOnText(RecordingDisplay):
        fired = False

        def __call__(self, obj: Any, *, raw: bool, display_id: bool) -> Any:
            handle = super().__call__(obj, raw=raw, display_id=display_id)
            board = self

            def update(obj: Any, **kwargs: Any) -> None:
                handle.bundles.append(dict(obj))
                if not board.fired and "w1" in obj.get("text/markdown", ""):
                    board.fired = True
                    raise KeyboardInterrupt

            handle.update = update  # type: ignore[method-assign]
            return handle

    with RoutedServer(responder) as server:
        ip.run_line_magic("config", f"GroqMagics.base_url = {server.base_url!r}")
        try:
            table = run_compare(
                ip._groq_magics.session,
                ChatOptions(),
                {"model": ["alpha", "beta"]},
                "Count",
                {},
                repeat=1,
                shell=ZMQInteractiveShell(),
                display=InterruptOnText(),
            )
        finally:
            ip.run_line_magic("config", "GroqMagics.base_url = None")
        assert server.wait_until(lambda: server.client_disconnects >= 2)
    assert list(table.status) == ["interrupted", "interrupted"]
    assert all(t.startswith("w0 w1") and len(t) < len("".join(pieces)) for t in table.text)
    out = capsys.readouterr().out
    assert out.count("interrupted") == 1
    assert out.startswith("⏹ interrupted: 2 of 2 runs stopped early")


def test_a_server_error_is_retried_for_that_run_only(ip: Any) -> None:
    clock = FakeClock()

    def responder(request: RecordedRequest) -> Reply:
        model = request.json()["model"]
        if model == "beta" and server.count(model) == 1:
            return error_reply(503, "over capacity", type="internal_server_error")
        return echo_responder(request)

    with RoutedServer(responder) as server:
        ip.run_line_magic("config", f"GroqMagics.base_url = {server.base_url!r}")
        try:
            backoff = SharedBackoff(clock=clock, sleep=clock.sleep, rand=lambda: 0.0)
            table = run_compare(
                ip._groq_magics.session,
                ChatOptions(),
                {"model": ["alpha", "beta"]},
                "Hi",
                {},
                repeat=1,
                shell=None,
                backoff=backoff,
                pacer=False,  # the unpaced path: a 429 pauses every run
            )
        finally:
            ip.run_line_magic("config", "GroqMagics.base_url = None")
    assert server.attempts == {"beta": 2}
    assert list(table.status) == ["complete", "complete"]
    assert clock.slept == [0.5]
    assert backoff.strikes == 0  # not a rate limit: nobody else was paused
