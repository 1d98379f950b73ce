"""Asking the user before a tool runs (``--approve ask``): buttons, a y/n prompt, or no.

:class:`ShellApprover` is the :class:`~groq_magic.chat.tools.approval.Approver` the
magic hands to the chat layer. At each call it looks at where it runs:

- a live notebook (a kernel whose current request allows stdin: JupyterLab, Notebook
  7, VS Code): Approve / Deny buttons under the cell's answer (:class:`ApprovalButtons`);
  where the kernel cannot deliver a click while a cell runs, a y/n prompt instead;
- a terminal IPython with a keyboard: a y/n prompt;
- anything else (nbconvert, nbval, papermill, a script, a compare's or sweep's
  background runs): no one can answer, so the call is refused (one line, to the model
  and on screen) and the turn goes on.

A cell blocks the kernel while it runs, so a click on a button (a widget message on
the shell channel) would wait until the cell ended. While it waits for an answer,
:class:`MainShellMessages` takes the messages queued for the main shell (ipykernel
7's inproc socket, read by this same thread): widget messages are handled at once,
anything else (the next cells of a Run All) is handed back to the kernel, in order,
to run after this cell.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from groq_magic._kernel import current_request
from groq_magic.chat.tools.approval import ApprovalRequest

__all__ = [
    "ApprovalButtons",
    "MainShellMessages",
    "ShellApprover",
    "answering_channel",
    "ask_in_terminal",
]

Channel = Literal["buttons", "prompt"]
_POLL = 0.05
_COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})


def _question(request: ApprovalRequest) -> str:
    return f"Run {request.describe()} on {request.where}?"


def ask_in_terminal(request: ApprovalRequest, read: Callable[[str], str] = input) -> bool | None:
    """A y/n prompt: True for y/yes, False for anything else; None when stdin is closed."""
    try:
        answer = read(f"{_question(request)} [y/N] ")
    except EOFError:
        return None
    return answer.strip().lower() in ("y", "yes")


def _parent_allows_stdin(kernel: Any) -> bool:
    """True when the request being run allows stdin (a person's frontend sent it)."""
    content = current_request(kernel).get("content") or {}
    return bool(content.get("allow_stdin"))


def answering_channel(shell: Any) -> Channel | None:
    """How a person can answer in ``shell`` now: buttons, a prompt, or None (no one)."""
    if threading.current_thread() is not threading.main_thread():
        return None  # a compare's or sweep's runs: nothing can be shown from there
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        if not _parent_allows_stdin(kernel):
            return None  # nbclient, nbval, papermill: no one is there
        return "buttons" if MainShellMessages.of(kernel) is not None else "prompt"
    interactive = type(shell).__name__ == "TerminalInteractiveShell"
    return "prompt" if interactive and sys.stdin is not None and sys.stdin.isatty() else None


class ShellApprover:
    """The magic's approver: buttons, a prompt or a refusal, as :func:`answering_channel` says."""

    def __init__(self, shell: Any, read: Callable[[str], str] = input) -> None:
        self.shell = shell
        self.read = read

    def __call__(self, request: ApprovalRequest) -> bool | None:
        """The user's answer to ``request`` (None: no one could answer here)."""
        channel = answering_channel(self.shell)
        if channel == "buttons":
            messages = MainShellMessages.of(self.shell.kernel)
            assert messages is not None
            return ApprovalButtons(request).wait(messages.dispatch, after=messages.hand_back)
        if channel == "prompt":
            return ask_in_terminal(request, self.read)
        return None


class ApprovalButtons:
    """The call, with Approve and Deny buttons; replaced by one line once answered."""

    def __init__(self, request: ApprovalRequest) -> None:
        import ipywidgets as widgets

        self.request = request
        self.answer: bool | None = None
        question = html.escape(_question(request))
        icon = "🔌" if request.server else "🔧"
        self.text = widgets.HTML(f"<b>{icon} {question}</b>")
        self.approve = widgets.Button(description="Approve", button_style="success", icon="check")
        self.deny = widgets.Button(description="Deny", button_style="danger", icon="times")
        self.approve.on_click(lambda _: self._decide(True))
        self.deny.on_click(lambda _: self._decide(False))
        self.box = widgets.HBox([self.text, self.approve, self.deny])
        self.box.add_class("groq-magic-approval")

    def _decide(self, answer: bool) -> None:
        if self.answer is None:
            self.answer = answer

    def wait(self, poll: Callable[[], None], after: Callable[[], None] | None = None) -> bool:
        """Show the buttons and wait for a click (``poll`` delivers the frontend's messages).

        The stop button raises KeyboardInterrupt here; the line then says so.
        """
        from IPython.display import display

        show: Any = display  # IPython's display is untyped
        handle = show(self.box, display_id=True)
        try:
            while self.answer is None:
                poll()
                if self.answer is None:
                    time.sleep(_POLL)
        finally:
            verdict = {True: "✔ approved", False: "✖ denied", None: "⏹ not answered"}
            line = f"{verdict[self.answer]}: {self.request.describe()} on {self.request.where}"
            if handle is not None:
                shown = {"text/markdown": html.escape(line, quote=False), "text/plain": line}
                handle.update(shown, raw=True)
            self.box.close()
            if after is not None:
                after()
        return self.answer


class MainShellMessages:
    """The frontend's messages queued for the main shell while a cell runs (ipykernel 7).

    :meth:`dispatch` handles the widget messages among them now and keeps the rest;
    :meth:`hand_back` gives those back to the kernel, in order, for after the cell.
    """

    def __init__(self, kernel: Any, socket: Any) -> None:
        self.kernel = kernel
        self.socket = socket
        self.kept: list[Any] = []

    @classmethod
    def of(cls, kernel: Any) -> MainShellMessages | None:
        """For a kernel that queues the main shell's messages on an inproc socket, else None."""
        thread = getattr(kernel, "shell_channel_thread", None)
        manager = getattr(thread, "manager", None)
        pair = getattr(manager, "_shell_channel_to_main", None)
        socket = getattr(pair, "to_socket", None)
        shell_main = getattr(kernel, "shell_main", None)
        if socket is None or shell_main is None or getattr(kernel, "comm_manager", None) is None:
            return None
        return cls(kernel, socket)

    def dispatch(self) -> None:
        """Handle every widget message waiting now; keep the others for later."""
        import zmq

        session = self.kernel.session
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            idents, parts = session.feed_identities(frames, copy=False)
            # A peek at the header only: unpacking the content records the signature, and
            # the kernel would then refuse a kept message as a replay when it reads it.
            kind = session.deserialize(parts, content=False, copy=False)["header"].get("msg_type")
            if kind not in _COMM_TYPES:
                self.kept.append(frames)
                continue
            message = session.deserialize(parts, content=True, copy=False)
            handler = getattr(self.kernel.comm_manager, kind)
            handler(None, idents, message)

    def hand_back(self) -> None:
        """Give the kept messages back to the kernel's loop, in the order they came."""
        kept, self.kept = self.kept, []
        loop = getattr(self.kernel, "io_loop", None)
        for frames in kept:
            if loop is not None:
                loop.add_callback(self.kernel.shell_main, None, frames)
