"""Helpers for the magic tests: a harness that runs cells in a real InteractiveShell.

The harness drives ``InteractiveShell.instance()`` (one per test session; IPython's
shell is a singleton) with ``%load_ext groq_magic`` done once, and gives each test a
fresh :class:`~groq_magic.session.GroqSession` pointed at the scripted server. Every
display message is recorded by :class:`RecordingPublisher`, and each cell's stdout and
stderr are captured, so tests can assert on exactly what a user would see.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import UsageError
from keys import SECRET_MARKERS
from scripted_server import Reply, ScriptedServer, chunk_events, sse_bytes, sse_reply


class RecordingPublisher(DisplayPublisher):
    """Keeps every ``display_data`` / ``update_display_data`` instead of sending it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published: list[dict[str, Any]] = []

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        """Record the message as ipykernel would send it."""
        self.published.append(
            {
                "data": dict(data),
                "metadata": metadata,
                "transient": transient,
                "update": update,
            }
        )

    def clear_output(self, wait: bool = False) -> None:
        """Record a clear_output (a test may assert there is none)."""
        self.published.append({"clear_output": True, "wait": wait})


def payload_bytes(message: dict[str, Any]) -> int:
    """The bytes of a message's mimebundle as jupyter_client sends it (UTF-8 JSON)."""
    return len(json.dumps(message.get("data", {}), ensure_ascii=False).encode("utf-8"))


@dataclass
class CellRun:
    """What one ``run_cell`` showed: its result, error, stdout, stderr and display messages."""

    result: Any
    error: BaseException | None
    out: str
    err: str
    displays: list[dict[str, Any]] = field(default_factory=list)

    @property
    def usage_error(self) -> str:
        """The one UsageError line (asserts there is exactly one and nothing else on stderr)."""
        assert isinstance(self.error, UsageError), f"expected a UsageError, got {self.error!r}"
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
        assert lines[0].startswith("UsageError: "), lines[0]
        assert "Traceback" not in self.out + self.err
        return lines[0].removeprefix("UsageError: ")

    @property
    def everything(self) -> str:
        """All the text a user could see from this cell (for leak scans)."""
        return "\n".join([self.out, self.err, *(json.dumps(d) for d in self.displays)])


def assert_clean(*texts: str) -> None:
    """No fake key (or any part of it, or a Bearer header) in any of ``texts``."""
    for text in texts:
        for marker in SECRET_MARKERS:
            assert marker not in text, f"{marker!r} leaked into: {text[:300]!r}"


def stream(pieces: Iterable[str], **options: Any) -> Reply:
    """A Groq-shaped streamed answer made of ``pieces``."""
    return sse_reply(chunk_events(list(pieces)), **options)


def sent(server: ScriptedServer, index: int = -1) -> dict[str, Any]:
    """The JSON body of a chat request the server received (the last one by default)."""
    chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert chats, "no chat request reached the server"
    body: dict[str, Any] = chats[index].json()
    return body


class FirstDelta:
    """Wraps the sink the magic chooses and sets an event at the first fragment."""

    def __init__(self, monkeypatch: Any) -> None:
        import groq_magic.render as render

        self.arrived = threading.Event()
        original = render.choose_sink

        def choose(shell: Any) -> Any:
            sink = original(shell)
            delta = sink.delta

            def spy(text: str) -> None:
                delta(text)
                self.arrived.set()

            sink.delta = spy
            return sink

        monkeypatch.setattr(render, "choose_sink", choose)


def interrupt_when(event: threading.Event, sent_at: list[float]) -> threading.Thread:
    """A thread that sends SIGINT to the main thread once ``event`` is set."""

    def fire() -> None:
        if event.wait(5):
            sent_at.append(time.perf_counter())
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


def stalling_stream(first: list[str], *, stall_pieces: int = 100, delay: float = 0.05) -> Reply:
    """A few chunks at once, then a trickle of keep-alive comments ``delay`` apart.

    The comments carry no text (the client keeps waiting) but make the server write,
    so it notices within ``delay`` that the client closed the connection.
    """
    frames = sse_bytes(chunk_events(first), done=False)[: 1 + len(first)]
    head = b"".join(frames)
    return Reply(
        headers={"content-type": "text/event-stream"},
        chunks=[head] + [b": keep-alive\n\n"] * stall_pieces,
        delay=delay,
    )
