"""Who can answer ``--approve ask``, and how: the buttons, the terminal prompt, a refusal;
and the main shell's queued messages handed to widgets while a cell waits.

The buttons are clicked for real in JupyterLab by ``tests/browser``; here the waiting
loop is driven by a ``poll`` that clicks, and :class:`MainShellMessages` reads real
ZMQ messages (a PAIR socket and jupyter_client's Session) with a recording comm manager.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import zmq
from jupyter_client.session import Session

from groq_magic.chat.tools.approval import ApprovalRequest
from groq_magic.ui import approval
from groq_magic.ui.approval import (
    ApprovalButtons,
    MainShellMessages,
    ShellApprover,
    answering_channel,
    ask_in_terminal,
)

REQUEST = ApprovalRequest("search", "web", {"query": "groq <lpu>"}, "call_1")


class FakeKernel:
    """A kernel whose current request does (or does not) allow stdin."""

    def __init__(self, allow_stdin: bool, queue: bool = False) -> None:
        self.allow_stdin = allow_stdin
        if queue:
            pair = type("Pair", (), {"to_socket": object()})()
            manager = type("Manager", (), {"_shell_channel_to_main": pair})()
            self.shell_channel_thread = type("Thread", (), {"manager": manager})()
            self.comm_manager = object()
            self.shell_main = lambda *args: None

    def get_parent(self) -> dict[str, Any]:
        return {"content": {"allow_stdin": self.allow_stdin}}


class KernelShell:
    def __init__(self, kernel: FakeKernel) -> None:
        self.kernel = kernel


class TerminalInteractiveShell:
    """Named like IPython's terminal shell."""


class Stdin:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("shell", "tty", "channel"),
    [
        (KernelShell(FakeKernel(allow_stdin=False)), False, None),
        (KernelShell(FakeKernel(allow_stdin=True)), False, "prompt"),
        (KernelShell(FakeKernel(allow_stdin=True, queue=True)), False, "buttons"),
        (TerminalInteractiveShell(), True, "prompt"),
        (TerminalInteractiveShell(), False, None),
        (object(), True, None),
    ],
    ids=["nbclient", "old-kernel", "live-notebook", "terminal", "piped", "plain"],
)
def test_who_can_answer(
    shell: Any, tty: bool, channel: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approval.sys, "stdin", Stdin(tty))
    assert answering_channel(shell) == channel


def test_no_one_answers_from_a_background_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approval.sys, "stdin", Stdin(True))
    seen: list[Any] = []
    thread = threading.Thread(
        target=lambda: seen.append(answering_channel(TerminalInteractiveShell()))
    )
    thread.start()
    thread.join()
    assert seen == [None]
    assert ShellApprover(object())(REQUEST) is None


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("y", True), ("YES ", True), ("n", False), ("", False), ("sure", False)],
)
def test_the_terminal_prompt(typed: str, answer: bool) -> None:
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return typed

    assert ask_in_terminal(REQUEST, read) is answer
    assert prompts == ["Run search(query=\"groq <lpu>\") on mcp server 'web'? [y/N] "]


def test_a_closed_stdin_is_no_answer() -> None:
    def read(prompt: str) -> str:
        raise EOFError

    assert ask_in_terminal(REQUEST, read) is None


def test_the_terminal_approver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approval.sys, "stdin", Stdin(True))
    assert ShellApprover(TerminalInteractiveShell(), read=lambda _: "y")(REQUEST) is True


class Shown:
    """Stands in for IPython's display: keeps what was shown and how it was replaced."""

    def __init__(self) -> None:
        self.shown: list[Any] = []
        self.updates: list[dict[str, str]] = []

    def __call__(self, obj: Any, display_id: bool = False) -> Any:
        self.shown.append(obj)
        recorder = self

        class Handle:
            def update(self, bundle: dict[str, str], raw: bool = False) -> None:
                recorder.updates.append(bundle)

        return Handle()


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Shown:
    import IPython.display

    recorder = Shown()
    monkeypatch.setattr(IPython.display, "display", recorder)
    return recorder


@pytest.mark.parametrize(
    ("button", "answer", "word"), [("approve", True, "✔ approved"), ("deny", False, "✖ denied")]
)
def test_the_buttons(shown: Shown, button: str, answer: bool, word: str) -> None:
    buttons = ApprovalButtons(REQUEST)
    polls: list[int] = []
    handed_back: list[bool] = []

    def poll() -> None:
        polls.append(1)
        if len(polls) == 3:  # the user takes a moment
            getattr(buttons, button).click()

    assert buttons.wait(poll, after=lambda: handed_back.append(True)) is answer
    assert len(polls) == 3
    assert shown.shown == [buttons.box]
    assert buttons.text.value == (
        "<b>🔌 Run search(query=&quot;groq &lt;lpu&gt;&quot;) on mcp server &#x27;web&#x27;?</b>"
    )
    line = f"{word}: search(query=\"groq <lpu>\") on mcp server 'web'"
    assert shown.updates == [
        {"text/markdown": line.replace("<", "&lt;").replace(">", "&gt;"), "text/plain": line}
    ]
    assert handed_back == [True]
    # A second click changes nothing: the first answer holds.
    buttons.approve.click()
    buttons.deny.click()
    assert buttons.answer is answer


def test_the_stop_button_while_the_buttons_wait(shown: Shown) -> None:
    buttons = ApprovalButtons(REQUEST)

    def poll() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        buttons.wait(poll)
    assert shown.updates[0]["text/plain"].startswith("⏹ not answered: search(")


class Comms:
    def __init__(self) -> None:
        self.handled: list[tuple[str, dict[str, Any]]] = []

    def comm_msg(self, stream: Any, idents: Any, message: dict[str, Any]) -> None:
        self.handled.append(("comm_msg", message["content"]))


class Loop:
    def __init__(self) -> None:
        self.scheduled: list[tuple[Any, ...]] = []

    def add_callback(self, *args: Any) -> None:
        self.scheduled.append(args)


def test_main_shell_messages_go_to_widgets_now_and_the_rest_later() -> None:
    context = zmq.Context()
    sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    sender.bind("inproc://main-shell-test")
    receiver.connect("inproc://main-shell-test")
    session = Session(key=b"")
    kernel: Any = type("Kernel", (), {})()
    kernel.session, kernel.comm_manager, kernel.io_loop = session, Comms(), Loop()
    kernel.shell_main = lambda *args: None
    try:
        for kind, content in [
            ("execute_request", {"code": "1 + 1"}),
            ("comm_msg", {"comm_id": "c1", "data": {"method": "custom"}}),
            ("execute_request", {"code": "2 + 2"}),
        ]:
            message = session.msg(kind, content)
            sender.send_multipart(session.serialize(message, ident=[b"client"]))
        messages = MainShellMessages(kernel, receiver)
        messages.dispatch()
        assert kernel.comm_manager.handled == [
            ("comm_msg", {"comm_id": "c1", "data": {"method": "custom"}})
        ]
        assert kernel.io_loop.scheduled == []  # nothing else runs during the cell
        messages.hand_back()
        codes = []
        for callback, subshell, frames in kernel.io_loop.scheduled:
            assert callback is kernel.shell_main
            assert subshell is None
            _, parts = session.feed_identities(frames, copy=False)
            codes.append(session.deserialize(parts, copy=False)["content"]["code"])
        assert codes == ["1 + 1", "2 + 2"]
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)
        context.term()
