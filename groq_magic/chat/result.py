"""``ChatResult``: what a ``%%groq`` cell returns, and what ``-o VAR`` stores.

Built by the engine from the answer text and the response metadata; the JSON
views (``.json``, ``.parsed``, ``.records``, ``.df``) are computed on first use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from groq_magic.chat.errors import JSONResultError
from groq_magic.chat.options import strip_secrets
from groq_magic.chat.records import to_records
from groq_magic.chat.schema import SchemaValidator
from groq_magic.chat.sink import TurnStatus

if TYPE_CHECKING:
    import pandas

    from groq_magic.chat.context import ContextBlock
    from groq_magic.chat.conversation import Turn
    from groq_magic.chat.options import OptionsBase
    from groq_magic.client import RateLimits

__all__ = ["ChatResult", "Timings", "tokens_per_second"]

_FENCED = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)\r?\n?```", re.S)
_UNSET: Any = object()


def as_dict(obj: object) -> dict[str, Any]:
    """A plain dict from a mapping, a pydantic model or an object with attributes."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        dumped = dump()
        if isinstance(dumped, dict):
            return dumped
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


@dataclass(frozen=True)
class Timings:
    """Client-side timings in seconds, and the resulting generation speed."""

    ttft: float | None = None
    total: float | None = None
    tokens_per_second: float | None = None

    @classmethod
    def from_any(cls, timings: object, usage: object = None) -> Timings:
        """Accept a Timings, a dict or ClientTimings-like object; derive tokens/s if missing."""
        if isinstance(timings, Timings):
            return timings
        data = as_dict(timings)
        ttft = data.get("ttft", data.get("time_to_first_token"))
        total = data.get("total")
        tps = data.get("tokens_per_second")
        if tps is None:
            tps = tokens_per_second(as_dict(usage), ttft, total)
        return cls(
            ttft=None if ttft is None else float(ttft),
            total=None if total is None else float(total),
            tokens_per_second=None if tps is None else float(tps),
        )

    def as_dict(self) -> dict[str, float | None]:
        """``{"ttft", "total", "tokens_per_second"}``."""
        return asdict(self)


def tokens_per_second(
    usage: Mapping[str, Any], ttft: float | None, total: float | None
) -> float | None:
    """Generation speed, by the one rule every display and result uses.

    Groq's own clock first (``completion_tokens / completion_time``: generation
    only). Otherwise the client's, for a stream only: tokens over the time from the
    first token to the last. A non-streamed answer without the server's timing has
    no honest figure (its total includes the network and the queue), so None.
    """
    tokens, seconds = usage.get("completion_tokens"), usage.get("completion_time")
    if not isinstance(tokens, int) or tokens <= 0:
        return None
    if isinstance(seconds, int | float) and seconds > 0:
        return tokens / seconds
    if ttft is not None and total is not None and total > ttft:
        return tokens / (total - ttft)
    return None


def _json_candidates(text: str) -> list[str]:
    stripped = text.strip()
    candidates = [stripped]
    # Small models wrap JSON in ```json fences, sometimes after a line of prose.
    candidates.extend(m.group(1).strip() for m in _FENCED.finditer(text))
    if stripped.startswith("```"):
        inner = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        candidates.append(inner.rstrip().removesuffix("```").strip())
    return candidates


def _kept_request(request: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request body a result keeps: credential-looking keys dropped whatever the
    caller passed, and the messages by reference, not deep-copied (each result holds
    every earlier turn: copies made memory grow with the square of the turns; prompts
    that look like keys are refused before they are sent)."""
    body = dict(request or {})
    messages = body.pop("messages", None)
    kept: dict[str, Any] = strip_secrets(body)
    if messages is not None:
        kept["messages"] = messages
    return kept


class ChatResult:
    """One answer: its text, the JSON views of it, usage, timings and the request sent."""

    def __init__(
        self,
        text: str,
        *,
        model: str | None = None,
        usage: Any = None,
        timings: Any = None,
        finish_reason: str | None = None,
        request: Mapping[str, Any] | None = None,
        status: TurnStatus = "complete",
        error: str | None = None,
        validator: SchemaValidator | None = None,
        json_mode: bool = False,
        reasoning: str | None = None,
        request_id: str | None = None,
        rate_limits: RateLimits | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        executed_tools: list[dict[str, Any]] | None = None,
        cached: bool = False,
        cost: float | None = None,
    ) -> None:
        self.text = text
        self.model = model
        self.usage = usage
        self.timings = Timings.from_any(timings, usage)
        self.finish_reason = finish_reason
        self.request: dict[str, Any] = _kept_request(request)
        self.status: TurnStatus = status
        self.error = error
        self.validator = validator
        self.json_mode = json_mode
        self.reasoning = reasoning
        self.request_id = request_id
        # The response's x-ratelimit-* headers (what pacing of grids reads).
        self.rate_limits = rate_limits
        # Each notebook function the model called: name, arguments, result, error, seconds.
        self.tool_calls: list[dict[str, Any]] = tool_calls or []
        # Groq's own tool runs (compound models): searches, visits, code runs.
        self.executed_tools: list[dict[str, Any]] = executed_tools or []
        # True when the answer was replayed from the local store (--cache): nothing sent.
        self.cached = cached
        # USD, from the price table (0 for a replay or the local model); None: unknown.
        self.cost = cost
        # The history turn this answer made (or, for a run not recorded, would make):
        # the panel's Keep records it; set by the engine.
        self.turn: Turn | None = None
        # Each --context block sent before the prompt (name, kind, text, tokens); set
        # by the engine. The language code was asked in (--code), else None.
        self.context: list[ContextBlock] = []
        self.code_language: str | None = None
        # The options the turn was asked with (defaults applied); set by the engine.
        self.options: OptionsBase | None = None
        self._json: Any = _UNSET
        self._parsed: Any = _UNSET

    @property
    def usage_dict(self) -> dict[str, Any]:
        """``usage`` as a plain dict (empty when the server sent none)."""
        return as_dict(self.usage)

    @property
    def json(self) -> Any:
        """The answer parsed as JSON (```json fences tolerated); JSONResultError if it is not."""
        if self._json is _UNSET:
            error: json.JSONDecodeError | None = None
            for candidate in _json_candidates(self.text):
                try:
                    # strict=False: a raw newline or tab inside a string, as the local
                    # model's grammar lets it write, is read as the character it is.
                    self._json = json.loads(candidate, strict=False)
                    break
                except json.JSONDecodeError as exc:
                    error = error or exc
            else:
                hint = ""
                if self.finish_reason == "length" or self.status in {"interrupted", "incomplete"}:
                    hint = f" (the answer was cut short: {self.finish_reason or self.status})"
                if not self.text.strip() or error is None:
                    reason = "the answer is empty"
                else:
                    reason = f"{error.msg} at char {error.pos}"
                raise JSONResultError(
                    f"the answer is not JSON: {reason}{hint}; it starts {self.text[:200]!r}"
                )
        return self._json

    @property
    def parsed(self) -> Any:
        """The JSON validated by the schema: a model instance for a pydantic ``--schema``,
        the checked dict for a JSON-schema dict (``jsonschema`` when installed, basic
        type checks otherwise), or plain ``.json`` when no schema was given."""
        if self._parsed is _UNSET:
            value = self.json
            self._parsed = value if self.validator is None else self.validator(value)
        return self._parsed

    @property
    def records(self) -> list[dict[str, Any]]:
        """The JSON as flat rows for ``pandas.DataFrame`` (see :mod:`groq_magic.chat.records`)."""
        value = self.json
        return to_records(value)

    @property
    def df(self) -> pandas.DataFrame:
        """``.records`` as a pandas DataFrame (needs the ``pandas`` extra)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "ChatResult.df needs pandas: pip install groq-magic[pandas]"
            ) from None
        return pandas.DataFrame(self.records)

    @property
    def code(self) -> str | None:
        """The code in the answer: its fenced blocks in the kernel's language, joined.

        With ``--code`` an answer without fences is taken whole when it parses as
        code; None when the answer holds no code.
        """
        from groq_magic.chat.code import extract_code

        asked = self.code_language is not None
        return extract_code(self.text, self.code_language or "python", whole=asked)

    def row(self) -> dict[str, Any]:
        """This answer as one table row (:func:`groq_magic.chat.row.table_row`): the knob
        columns of the options it was asked with, then its text, timings, tokens, cost,
        status and error; the row compares, sweeps, batches and evaluations show."""
        from groq_magic.chat.options import ChatOptions
        from groq_magic.chat.row import table_row

        options = self.options if self.options is not None else ChatOptions()
        return table_row(options, model=self.model, result=self)

    @property
    def ok(self) -> bool:
        """True when the answer completed normally."""
        return self.status == "complete"

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str | None:
        if self.text:
            return self.text
        if self.error:
            return f"**{self.status}:** {self.error}"
        return None

    def __repr__(self) -> str:
        tokens = self.usage_dict.get("total_tokens")
        snippet = " ".join(self.text.split())
        if len(snippet) > 40:
            snippet = snippet[:39] + "…"
        parts = [f"model={self.model!r}", f"status={self.status}"]
        if tokens is not None:
            parts.append(f"tokens={tokens}")
        if self.finish_reason:
            parts.append(f"finish={self.finish_reason}")
        if self.error:
            parts.append(f"error={' '.join(self.error.split())[:60]!r}")
        parts.append(f"text={snippet!r}")
        return f"<ChatResult {' '.join(parts)}>"
