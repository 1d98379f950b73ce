"""What one turn receives, across every request it makes: text, thinking, tool rounds.

A turn is one request, or several when the model calls tools: each answer that
asks for calls is followed by running them and sending their results back, until
the model answers in words or ``--max-steps`` is reached. :class:`TurnAccount` is the
account of all of it, fed by the engine's I/O loops (sync and async alike):

- content and ``delta.reasoning`` go to the sink as they arrive; ``<think>`` blocks
  inline in the content are split off as reasoning (:class:`ThinkSplitter`);
- tool-call deltas are assembled (:class:`ToolCallAccumulator`); Groq's server-side
  tool runs (``executed_tools``) are shown like local calls;
- usage is summed over the requests; the first token's time is the turn's TTFT;
- each tool round adds the assistant's tool-call message and one tool message per
  call to the request messages and to the turn's ``exchange`` (what history keeps).

The earlier steps' reasoning is never sent back: the assistant tool-call message
carries only the content and the calls.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from groq_magic._keys import StreamRedactor, redact
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.reasoning import ThinkSplitter
from groq_magic.chat.sink import StreamSink, ToolNote, TurnStatus
from groq_magic.client import RateLimits

if TYPE_CHECKING:
    from groq_magic.chat.conversation import Turn
    from groq_magic.chat.tools import ToolCall, ToolOutcome
    from groq_magic.client import AsyncStream, ChatCompletion, Stream

__all__ = ["TurnAccount", "add_usage"]

INTERRUPTED_TOOL = "interrupted by the user before this tool finished"


def add_usage(total: dict[str, Any], more: dict[str, Any]) -> None:
    """Add ``more``'s numbers into ``total`` (nested dicts too): a turn's usage over its steps."""
    for key, value in more.items():
        if isinstance(value, bool):
            total[key] = value
        elif isinstance(value, int | float):
            previous = total.get(key)
            total[key] = (previous if isinstance(previous, int | float) else 0) + value
        elif isinstance(value, dict):
            inner = total.setdefault(key, {})
            if isinstance(inner, dict):
                add_usage(inner, value)
        elif key not in total:
            total[key] = value


def _call_line(name: str, arguments_json: str, icon: str = "🔧") -> str:
    """The line of a call still running: its name and arguments as the model sent them."""
    arguments = " ".join(arguments_json.split())
    if len(arguments) > 60:
        arguments = arguments[:59] + "…"
    return f"{icon} {name}({arguments}) …"


def _finished_note(outcome: ToolOutcome) -> ToolNote:
    from groq_magic.chat.tools import call_markdown, summarize_call

    return ToolNote(outcome.id, summarize_call(outcome), call_markdown(outcome))


class TurnAccount:
    """The running account of one turn (see the module docstring)."""

    def __init__(self, prep: PreparedTurn, sink: StreamSink) -> None:
        self.prep = prep
        self.sink = sink
        # Sinks written before thinking and tools existed lack these: skip them there.
        self._reasoning_to = getattr(sink, "reasoning", None)
        self._tool_to = getattr(sink, "tool", None)
        self.messages: list[dict[str, Any]] = list(prep.messages)
        self.exchange: list[dict[str, Any]] = []
        self.outcomes: list[ToolOutcome] = []
        self.executed: list[ToolOutcome] = []
        self._executed_shown: dict[str, ToolNote] = {}  # Groq's runs: the line on screen
        self.usage: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.time_to_first_token: float | None = None
        self.total_time: float | None = None
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.request_id: str | None = None
        self.rate_limits: RateLimits | None = None
        self.status: TurnStatus = "complete"
        self.error: str | None = None
        self.cached = False
        self.steps = 0
        self._reasoning: list[str] = []
        self._answer: list[str] = []
        # A key in the answer or the thinking (echoed by a server, leaked by a tool) is
        # masked here, where the text enters the record, so the screen, history, the
        # store and every file get the masked text. A tail that may still become a key
        # is held until the next piece (or the end) decides it.
        self._answer_guard = StreamRedactor()
        self._thinking_guard = StreamRedactor()
        self._begin()

    # -- one request ------------------------------------------------------------------

    def _begin(self) -> None:
        from groq_magic.chat.tools import ToolCallAccumulator

        self.steps += 1
        self._splitter = ThinkSplitter()
        self._calls = ToolCallAccumulator()
        self._step_text: list[str] = []
        self._executed_raw: list[Any] = []
        self._message_calls: list[ToolCall] | None = None
        self._finished: list[ToolOutcome] = []  # this step's calls that have finished

    @property
    def params(self) -> dict[str, Any]:
        """This request's fields: a forced ``--tool-choice`` holds for the first request
        only (else the model could never answer in words); later ones are ``auto``."""
        params = self.prep.params
        choice = params.get("tool_choice")
        if self.steps > 1 and choice not in (None, "auto", "none"):
            return {**params, "tool_choice": "auto"}
        return params

    @property
    def shown(self) -> bool:
        """True once anything reached the screen (text, thinking or a tool line)."""
        return bool(self._answer or self._reasoning or self.exchange or self.executed)

    @property
    def text(self) -> str:
        """The answer's words: the final step's content (earlier steps' words are in
        the exchange's tool-call messages)."""
        return "".join(self._step_text)

    @property
    def reasoning(self) -> str | None:
        """All the thinking shown during the turn, or None."""
        return "".join(self._reasoning) or None

    def _think(self, text: str) -> None:
        if not text:
            return
        self._first_token()
        self._show_thinking(self._thinking_guard.feed(text))

    def _show_thinking(self, text: str) -> None:
        if not text:
            return
        self._reasoning.append(text)
        if self._reasoning_to is not None:
            self._reasoning_to(text)

    def _say(self, text: str) -> None:
        if not text:
            return
        self._first_token()
        self._show_answer(self._answer_guard.feed(text))

    def _show_answer(self, text: str) -> None:
        if not text:
            return
        self._answer.append(text)
        self._step_text.append(text)
        self.sink.delta(text)

    def _release_held(self) -> None:
        """Show what the key guards still hold (a request's answer ended)."""
        self._show_thinking(self._thinking_guard.flush())
        self._show_answer(self._answer_guard.flush())

    def _show_tool(self, note: ToolNote) -> None:
        if self._tool_to is not None:
            # Arguments come from the model, results from notebook code or a server.
            self._tool_to(
                dataclasses.replace(note, line=redact(note.line), markdown=redact(note.markdown))
            )

    def _content(self, text: str) -> None:
        thinking, answer = self._splitter.feed(text)
        self._think(thinking)
        self._say(answer)

    def _first_token(self) -> None:
        # A non-streamed answer has no first token to time: it arrives whole.
        if self.time_to_first_token is None and self.prep.stream:
            self.time_to_first_token = time.perf_counter() - self.started

    def take_chunk(self, chunk: Any) -> None:
        """One stream chunk: its thinking, words, tool-call pieces and server tool runs."""
        for choice in chunk.choices:
            if choice.index:
                continue
            delta = choice.delta
            if delta.reasoning:
                self._think(delta.reasoning)
            if delta.content:
                self._content(delta.content)
            if delta.tool_calls:
                self._calls.add(delta.tool_calls)
            if delta.executed_tools:
                self._executed_raw.extend(delta.executed_tools)
                self._show_executed()

    def end_stream(self, stream: Stream | AsyncStream) -> None:
        """The stream of this step ended (or was stopped): take its account."""
        self._flush()
        usage = stream.usage.model_dump(exclude_none=True) if stream.usage else {}
        self._account(stream.model, usage, stream.finish_reason, stream.request_id)
        self.rate_limits = stream.rate_limits

    def take_completion(self, completion: ChatCompletion) -> None:
        """A whole (non-streamed) answer for this step."""
        from groq_magic.chat.tools import calls_from_message

        choice = completion.choices[0] if completion.choices else None
        if choice is not None:
            self._think(choice.message.reasoning or "")
            # Groq's tool runs came before the words that use them: shown in that order.
            self._executed_raw.extend(choice.message.executed_tools)
            self._show_executed()
            self._content(choice.message.content or "")
            self._message_calls = calls_from_message(choice.message)
        self._flush()
        usage = completion.usage.model_dump(exclude_none=True) if completion.usage else {}
        finish = choice.finish_reason if choice is not None else None
        self._account(completion.model, usage, finish, completion.request_id)
        self.rate_limits = completion.rate_limits

    def _flush(self) -> None:
        thinking, answer = self._splitter.flush()
        self._think(thinking)
        self._say(answer)
        self._release_held()
        if self._executed_raw:
            self.executed.extend(self._show_executed(final=True))
            self._executed_raw = []

    def _show_executed(self, *, final: bool = False) -> list[ToolOutcome]:
        """Show Groq's tool runs as their deltas arrive: running until an output comes.

        In a stream a run's arguments come first and its output in a later delta under
        the same index, before the answer's words; each line is replaced in place and
        re-sent only when it changed. Returns the runs as they stand.
        """
        from groq_magic.chat.tools import executed_tool_outcomes

        outcomes = executed_tool_outcomes(self._executed_raw)
        for outcome in outcomes:
            if final or outcome.result is not None:
                shown = _finished_note(outcome)
            else:
                line = _call_line(outcome.name, outcome.arguments_json, icon="🌐")
                shown = ToolNote(outcome.id, line, line, done=False)
            if self._executed_shown.get(outcome.id) != shown:
                self._executed_shown[outcome.id] = shown
                self._show_tool(shown)
        return outcomes

    def _account(
        self, model: str | None, usage: dict[str, Any], finish: str | None, request_id: str | None
    ) -> None:
        self.model = model or self.model
        add_usage(self.usage, usage)
        self.finish_reason = finish or self.finish_reason
        self.request_id = request_id or self.request_id
        self.total_time = time.perf_counter() - self.started

    # -- tool rounds ------------------------------------------------------------------

    @property
    def calls(self) -> list[ToolCall]:
        """The local tool calls this step asked for (none once the model answered)."""
        if self.prep.toolbox is None:
            return []
        if self._message_calls is not None:
            return self._message_calls
        return self._calls.calls

    def _note(self, outcome: ToolOutcome) -> None:
        """Show a finished call (replacing its running line)."""
        if self._tool_to is not None:
            self._show_tool(_finished_note(outcome))

    def calls_started(self, calls: Sequence[ToolCall]) -> None:
        """Show a "running" line per call before the functions run."""
        if self._tool_to is None:
            return
        for call in calls:
            line = _call_line(call.name, call.arguments_json)
            self._show_tool(ToolNote(call.id, line, line, done=False))

    def call_finished(self, outcome: ToolOutcome) -> None:
        """One call of the running round finished: show its result now, and keep it."""
        self._finished.append(outcome)
        self._note(outcome)

    def calls_done(self, calls: Sequence[ToolCall], outcomes: Sequence[ToolOutcome]) -> None:
        """Record a finished round: show each result, extend the request and the history."""
        from groq_magic.chat.tools import assistant_message, tool_messages
        from groq_magic.chat.tools.remote import image_followup

        for outcome in outcomes:
            if not any(outcome is shown for shown in self._finished):
                self._note(outcome)
        self.outcomes.extend(outcomes)
        # The step's words go with its calls, as the model sent them.
        round_messages = [assistant_message(self.text or None, list(calls))]
        round_messages += tool_messages(list(outcomes))
        # Images a tool returned follow as a user message (a tool message takes text only).
        round_messages += image_followup(list(outcomes), self.prep.model, self.messages)
        self.messages.extend(round_messages)
        self.exchange.extend(round_messages)
        self._begin()

    def calls_interrupted(self, calls: Sequence[ToolCall]) -> None:
        """The user stopped a tool round: every call still gets an answer in history.

        The calls that finished keep their results (they ran, and their lines are on
        screen). An assistant message whose calls lack tool results makes the next
        request fail, so the unfinished calls are recorded as interrupted.
        """
        from groq_magic.chat.tools import ToolOutcome

        finished = {o.id: o for o in reversed(self._finished)}  # the first of an id wins
        outcomes = [
            finished.get(c.id)
            or ToolOutcome(
                id=c.id,
                name=c.name,
                arguments_json=c.arguments_json,
                content=INTERRUPTED_TOOL,
                error=INTERRUPTED_TOOL,
                seconds=None,
            )
            for c in calls
        ]
        self.calls_done(calls, outcomes)
        self.status = "interrupted"

    # -- a stored answer ----------------------------------------------------------------

    def replay(self, stored: Turn) -> None:
        """Show a stored answer at once, as it was first shown: tool lines, thinking, text."""
        from groq_magic.chat.tools import ToolOutcome

        self.cached = True
        for kept, server_side in ((stored.tool_calls, False), (stored.executed_tools, True)):
            for call in kept:
                outcome = ToolOutcome(
                    id=str(call.get("id", "")),
                    name=str(call.get("name", "")),
                    arguments=dict(call.get("arguments") or {}),
                    content=str(call.get("content", "")),
                    error=call.get("error"),
                    seconds=call.get("seconds"),
                    server_side=server_side,
                    server=call.get("server"),
                )
                (self.executed if server_side else self.outcomes).append(outcome)
                self._note(outcome)
        self._think(stored.reasoning or "")
        self._say(stored.answer)
        self._release_held()
        self.exchange = [dict(m) for m in stored.exchange]
        self._account(stored.model, dict(stored.usage), stored.finish_reason, None)

    # -- how it ended -----------------------------------------------------------------

    def stopped(self) -> None:
        """The user stopped the turn mid-answer: keep what was shown."""
        self._flush()
        self.status = "interrupted"
        self.total_time = time.perf_counter() - self.started

    def broke(self, error: str) -> None:
        """The stream broke after something was shown: keep it, marked incomplete."""
        self._flush()
        self.status = "incomplete"
        self.error = error
        self.total_time = time.perf_counter() - self.started

    def out_of_steps(self) -> None:
        """``--max-steps`` reached while the model was still calling tools."""
        steps = self.prep.max_steps
        self.status = "incomplete"
        self.error = (
            f"stopped after {steps} request{'' if steps == 1 else 's'} (--max-steps {steps}):"
            " the model was still calling tools; raise --max-steps or %groq retry"
        )
