"""What a frontend receives from the panel: widget comm messages, recorded without a browser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scripted_server import RecordedRequest, Reply, chunk_events, sse_reply
from ui_fakes import RoutedServer

from groq_magic.chat import ChatOptions
from groq_magic.ui.panel import ParameterPanel


class RecordingComm:
    """Stands in for a kernel comm: keeps every message a widget sends."""

    kernel = "a kernel"
    sent: list[dict[str, Any]]

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = f"comm-{id(self)}"
        self.sent = []
        self.opened_with = kwargs

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.sent.append(data)

    def on_msg(self, callback: Any) -> None:
        """Frontend messages never come in this test."""

    def on_close(self, callback: Any) -> None:
        """Nothing to close."""

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to close."""

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Already open."""


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    import comm

    made: list[RecordingComm] = []

    def create_comm(**kwargs: Any) -> RecordingComm:
        made.append(RecordingComm(**kwargs))
        return made[-1]

    monkeypatch.setattr(comm, "create_comm", create_comm)
    return made


def _updates(panel_comm: RecordingComm, key: str) -> list[Any]:
    return [
        m["state"][key]
        for m in panel_comm.sent
        if m.get("method") == "update" and key in m.get("state", {})
    ]


def test_a_long_streamed_answer_reaches_the_frontend_in_few_linear_updates(
    ip: Any, routed: RoutedServer, comms: list[RecordingComm]
) -> None:
    pieces = [f"token{i} " for i in range(400)]

    def responder(request: RecordedRequest) -> Reply:
        return sse_reply(chunk_events(pieces, model="alpha"))

    routed.responder = responder
    panel = ParameterPanel(
        ip._groq_magics.session, ChatOptions(model="alpha"), "Go", {}, scheduler=lambda d, c: c
    )
    answer_comm = next(c for c in comms if c.comm_id == panel.answer.comm.comm_id)
    panel.run()
    updates = _updates(answer_comm, "outputs")
    final = updates[-1][0]["data"]["text/markdown"]
    assert final.startswith("".join(pieces).rstrip())
    assert "alpha · " in final
    assert final.endswith("stop*")
    sizes = [len(json.dumps(u).encode()) for u in updates]
    # Each update resends the whole answer; the throttle keeps the sum linear in its size.
    assert sum(sizes) < 8 * sizes[-1] + 2_000
    assert 2 <= len(updates) < 40  # not one message per token (400 tokens)


def test_a_refused_slider_value_sends_no_value_change(
    ip: Any, routed: RoutedServer, comms: list[RecordingComm]
) -> None:
    panel = ParameterPanel(
        ip._groq_magics.session,
        ChatOptions(model="alpha", temperature=0.5),
        "Go",
        {},
        scheduler=lambda d, c: c,
        echo=lambda line: None,
    )
    slider_comm = next(c for c in comms if c.comm_id == panel.sliders["temperature"].comm.comm_id)
    message_comm = next(c for c in comms if c.comm_id == panel.message.comm.comm_id)
    panel.sliders["temperature"].value = 9
    assert _updates(slider_comm, "value") == []
    assert _updates(message_comm, "value")[-1].startswith("--temperature must be between 0 and 2")
    assert routed.requests == [r for r in routed.requests if r.method == "GET"]
