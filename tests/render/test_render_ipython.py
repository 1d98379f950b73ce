"""NotebookSink and already_shown through IPython's real display machinery.

The shell's display publisher is replaced by one that records what ipykernel would
send as ``display_data`` / ``update_display_data`` messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from render_fakes import FakeClock

from groq_magic.render import NotebookSink, TurnMeta, TurnSummary, already_shown


class RecordingPublisher(DisplayPublisher):
    """Keeps every publish call instead of sending it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
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
        self.published.append(
            {"data": data, "metadata": metadata, "transient": transient, "update": update}
        )


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    ipython: Any = InteractiveShell.instance()
    monkeypatch.setattr(ipython, "display_pub", RecordingPublisher(shell=ipython))
    # The shell is shared with other suites; the displayhook only updates _, __ and ___
    # while they still hold what it last set, so hand them back to it.
    for name in ("_", "__", "___"):
        ipython.user_ns[name] = getattr(ipython.displayhook, name)
    yield ipython
    for name in ("answer", "fake_result"):
        ipython.user_ns.pop(name, None)


def published(shell: Any) -> list[dict[str, Any]]:
    publisher = shell.display_pub
    assert isinstance(publisher, RecordingPublisher)
    return publisher.published


class Answer:
    """A stand-in for ChatResult: Markdown and a short repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Answer {self.text!r}>"


def test_one_display_then_updates_with_the_same_transient_display_id(
    shell: Any,
) -> None:
    clock = FakeClock()
    sink = NotebookSink(clock=clock)  # the real IPython.display.display
    sink.start(TurnMeta(model="m", chat="default", stream=True))
    for token in ["Hello", ", ", "world", "!"]:
        clock.advance(0.1)
        sink.delta(token)
    sink.finish(TurnSummary(text="Hello, world!", model="m", finish_reason="stop"))

    messages = published(shell)
    assert messages[0]["update"] is False
    display_id = messages[0]["transient"]["display_id"]
    assert display_id
    assert messages[0]["data"]["text/markdown"] == "*m · waiting…*"
    for message in messages[1:]:
        assert message["update"] is True
        assert message["transient"] == {"display_id": display_id}
    assert messages[1]["data"] == {"text/markdown": "Hello"}
    assert messages[-1]["data"] == {
        "text/markdown": "Hello, world!\n\n*m · stop*",
        "text/plain": "Hello, world!\n\nm · stop",
    }


def test_fail_publishes_an_empty_update(shell: Any) -> None:
    clock = FakeClock()
    sink = NotebookSink(clock=clock)
    sink.start(TurnMeta(model="m", chat="default", stream=True))
    sink.fail("401 invalid_api_key")
    last = published(shell)[-1]
    assert last["update"] is True
    assert last["data"] == {}


def test_already_shown_suppresses_the_result_display_of_this_cell_only(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_groq(line: str) -> Answer:
        return already_shown(Answer(line), shell)

    shell.register_magic_function(fake_groq, "line", "fake_groq_render")
    result = shell.run_cell("%fake_groq_render streamed answer", store_history=True)
    assert isinstance(result.result, Answer)
    # Out and _ hold the result, but nothing was formatted or published for it.
    assert shell.user_ns["_"] is result.result
    assert "<Answer" not in capsys.readouterr().out
    assert published(shell) == []

    # A later cell shows the same object normally (the hook was used up).
    shell.run_cell("_", store_history=True)
    assert "<Answer 'streamed answer'>" in capsys.readouterr().out


def test_already_shown_value_never_displayed_in_its_cell_shows_later(
    shell: Any,
) -> None:
    def fake_groq(line: str) -> Answer:
        return already_shown(Answer(line), shell)

    shell.register_magic_function(fake_groq, "line", "fake_groq_render")
    shell.run_cell("answer = %fake_groq_render kept", store_history=True)
    shell.run_cell("from IPython.display import display; display(answer)", store_history=True)
    (message,) = published(shell)
    assert message["data"]["text/markdown"] == "kept"
    assert message["data"]["text/plain"] == "<Answer 'kept'>"


def test_already_shown_leaves_objects_without_attributes_alone() -> None:
    assert already_shown(3, None) == 3
