"""Every ``%%groq`` knob in one pydantic model, its bounds from the knob table.

The knobs (flags, help, bounds, list and slider specs) are declared once in
:mod:`groq_magic.knobs`; this model types them and validates. The magic's parser,
the widgets' sliders and the request builder all derive from the table; nothing
repeats a literal. Validation errors
become one :class:`OptionsError` line naming the command-line flag, e.g.
``--temperature must be between 0 and 2 (got 3.5)``, before any request is made.

``--json`` and ``--schema`` may be given together: a schema implies JSON, so the
schema's ``response_format`` wins over plain JSON mode.

There is deliberately no API-key field: options are snapshotted into saved
history, so a key must never be able to reach them (``extra`` refuses
credential-looking names too).
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from groq_magic._keys import KEY_SHAPE, REDACTED, redact
from groq_magic.chat.errors import OptionsError
from groq_magic.knobs import FLAGS, KNOBS, extra_field_problem

__all__ = [
    "FLAGS",
    "MAX_STOP",
    "ChatOptions",
    "is_secret_key",
    "is_secret_value",
    "strip_secrets",
]

MAX_STOP = 4
"""Groq accepts at most four stop sequences."""

_SECRET_NAME = re.compile(r"(api[_-]?key|authorization|secret|password|token$|bearer)", re.I)
# Usage counters legitimately end in "token(s)"; they are not secrets.
_NOT_SECRET = re.compile(
    r"(^|_)(max|prompt|completion|total|reasoning|cached)_?(completion_)?tokens?$", re.I
)


# A Groq key (gsk_...) or an Authorization value, whatever field it was put in.
_SECRET_VALUE = re.compile(rf"^\s*({KEY_SHAPE.pattern}|bearer\s+\S+)\s*$", re.I)
# JSON schemas describe data (a "password" property is not a password): kept as they are.
_SCHEMA_KEYS = frozenset({"schema", "json_schema", "properties", "$defs", "definitions"})


@functools.lru_cache(maxsize=1024)
def is_secret_key(name: str) -> bool:
    """True when a mapping key looks like it holds a credential (api_key, Authorization...)."""
    # Cached: the same few keys ("role", "content", "tool_calls"...) are checked in every
    # message of every turn that history and the store keep.
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def is_secret_value(value: object) -> bool:
    """True for a string that is a key in force, shaped like a Groq key (``gsk_...``) or a
    ``Bearer ...`` value."""
    if not isinstance(value, str):
        return False
    return bool(_SECRET_VALUE.match(value)) or redact(value).strip() == REDACTED


def strip_secrets(value: Any) -> Any:
    """A deep copy of dicts/lists without credentials, for anything kept or shown.

    Credential-looking keys are dropped, key-shaped string values become
    ``"[redacted]"`` and keys inside longer strings are masked (:func:`groq_magic._keys.redact`).
    The contents of JSON schemas are copied unchanged.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = str(k)
            if is_secret_key(name):
                continue
            out[name] = copy.deepcopy(v) if name in _SCHEMA_KEYS else strip_secrets(v)
        return out
    if isinstance(value, (list, tuple)):
        return [strip_secrets(v) for v in value]
    if isinstance(value, str):
        return REDACTED if _SECRET_VALUE.match(value) else redact(value)
    return value


def _fmt_number(x: object) -> str:
    # 2.0 -> "2", 0.5 -> "0.5": messages read like the flag a user would type.
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


class ChatOptions(BaseModel):
    """The options of one ``%%groq`` cell: sampling knobs, output and history switches."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    # Defaults are here (typed); bounds, flags and help come from the knob table.
    model: str | None = Field(None, **KNOBS["model"].constraints())
    temperature: float | None = Field(None, **KNOBS["temperature"].constraints())
    top_p: float | None = Field(None, **KNOBS["top_p"].constraints())
    max_tokens: int | None = Field(None, **KNOBS["max_tokens"].constraints())
    stop: list[str] = Field(default_factory=list, **KNOBS["stop"].constraints())
    seed: int | None = Field(None, **KNOBS["seed"].constraints())
    system: str | None = Field(None, **KNOBS["system"].constraints())
    chat: str | None = Field(None, **KNOBS["chat"].constraints())
    json_mode: bool = Field(False, **KNOBS["json_mode"].constraints())
    schema_name: str | None = Field(None, **KNOBS["schema_name"].constraints())
    stream: bool = Field(True, **KNOBS["stream"].constraints())
    history: bool = Field(True, **KNOBS["history"].constraints())
    out: str | None = Field(None, **KNOBS["out"].constraints())
    tools: list[str] = Field(default_factory=list, **KNOBS["tools"].constraints())
    tool_choice: str | None = Field(None, **KNOBS["tool_choice"].constraints())
    max_steps: int | None = Field(None, **KNOBS["max_steps"].constraints())
    images: list[str] = Field(default_factory=list, **KNOBS["images"].constraints())
    reasoning_effort: str | None = Field(None, **KNOBS["reasoning_effort"].constraints())
    reasoning_format: str | None = Field(None, **KNOBS["reasoning_format"].constraints())
    cache: bool = Field(False, **KNOBS["cache"].constraints())
    context: list[str] = Field(default_factory=list, **KNOBS["context"].constraints())
    context_limit: int | None = Field(None, **KNOBS["context_limit"].constraints())
    code: bool = Field(False, **KNOBS["code"].constraints())
    extra: dict[str, Any] = Field(default_factory=dict, description="extra request fields")

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_list(cls, value: object) -> object:
        # One --stop arrives as a str; a str is not a list of characters.
        if isinstance(value, str):
            return [value]
        if value is None:
            return []
        return value

    @field_validator("stop")
    @classmethod
    def _stop_bounds(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_STOP:
            raise ValueError(f"takes at most {MAX_STOP} sequences (got {len(value)})")
        if any(s == "" for s in value):
            raise ValueError("sequences must not be empty")
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _tool_names(cls, value: object) -> object:
        # "--tools a,b" and %config GroqMagics.tools = "a,b" are one comma-separated string.
        if isinstance(value, str):
            return [name.strip() for name in value.split(",")]
        return [] if value is None else value

    @field_validator("tools")
    @classmethod
    def _tool_identifiers(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"takes names of notebook functions (got {name!r})")
        return list(dict.fromkeys(value))  # a name given twice is one tool

    @field_validator("images", mode="before")
    @classmethod
    def _image_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        return [] if value is None else value

    @field_validator("context", mode="before")
    @classmethod
    def _context_names(cls, value: object) -> object:
        # "-x df,Err -x In[3]" arrives as ["df,Err", "In[3]"]; %config may give "df,Err".
        items = [value] if isinstance(value, str) else value or []
        if not isinstance(items, list | tuple):
            return value  # pydantic says what is wrong with it
        names = [name.strip() for item in items for name in str(item).split(",")]
        return list(dict.fromkeys(name for name in names if name))

    @field_validator("reasoning_effort", "reasoning_format")
    @classmethod
    def _one_of(cls, value: str | None, info: ValidationInfo) -> str | None:
        choices = KNOBS[str(info.field_name)].choices or ()
        if value is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    @field_validator("out", "schema_name")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not value.isidentifier():
            raise ValueError(f"must be a Python variable name (got {value!r})")
        return value

    @field_validator("extra")
    @classmethod
    def _no_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        secret = [k for k in value if is_secret_key(str(k))]
        if secret:
            raise ValueError(f"must not carry credentials (got field {secret[0]!r})")
        if strip_secrets(value) != value:
            raise ValueError("must not carry credentials (a value looks like an API key)")
        # Checked against the option table: a knob's field has its flag, the engine's
        # fields are the engine's, and an unknown field is refused (a typo, or a file
        # that would slip something into the request).
        for name, item in value.items():
            problem = extra_field_problem(str(name), item)
            if problem is not None:
                raise ValueError(f"field {problem}")
        return value

    # ---- construction -------------------------------------------------------------

    @classmethod
    def parse(cls, **kwargs: Any) -> ChatOptions:
        """Validate keyword options; any problem is one :class:`OptionsError` line."""
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            raise _options_error(exc, kwargs) from None

    @classmethod
    def check_default(cls, name: str, value: Any, *, called: str) -> Any:
        """``value`` validated as a default for knob ``name``; errors name it ``called``.

        ``%config GroqMagics.temperature = 7`` is refused when set, with a line that
        speaks of ``GroqMagics.temperature`` rather than a flag nobody typed.
        """
        try:
            checked = cls(**{name: value})
        except ValidationError as exc:
            raise _options_error(exc, {name: value}, label=lambda _: called) from None
        return getattr(checked, name)

    def with_defaults(self, defaults: Mapping[str, Any]) -> ChatOptions:
        """A copy where every option the cell did not set takes the configured default.

        "Set" means given explicitly (pydantic's ``model_fields_set``), so a cell's
        ``--no-stream`` beats ``%config GroqMagics.stream = True`` and an unset
        temperature takes the configured one. ``None`` defaults change nothing.
        """
        unset = {
            name: value
            for name, value in defaults.items()
            if value is not None and name not in self.model_fields_set
        }
        if not unset:
            return self
        return type(self).parse(**self.model_dump(exclude_unset=True), **unset)

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> ChatOptions:
        """Rebuild options from :meth:`snapshot` output (unknown keys are ignored)."""
        known = {k: v for k, v in snapshot.items() if k in cls.model_fields}
        return cls.parse(**known)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready dict of the options, for history; never holds a credential."""
        data: dict[str, Any] = strip_secrets(self.model_dump(mode="json"))
        return data

    def merged(self, **changes: Any) -> ChatOptions:
        """A validated copy with ``changes`` applied (``None`` values are ignored).

        What was unset stays unset, so configured defaults still apply to the copy.
        """
        data = self.model_dump(exclude_unset=True)
        data.update({k: v for k, v in changes.items() if v is not None})
        return type(self).parse(**data)

    # ---- bounds for UIs -----------------------------------------------------------

    @classmethod
    def bounds(cls, field: str) -> tuple[float, float]:
        """``(lo, hi)`` of a bounded numeric option, e.g. ``bounds("temperature") == (0.0, 2.0)``.

        Raises ``KeyError`` for an unknown or unbounded field.
        """
        info = cls.model_fields.get(field)
        if info is None:
            raise KeyError(f"no option named {field!r}")
        lo: float | None = None
        hi: float | None = None
        for meta in info.metadata:
            if isinstance(meta, annotated_types.Ge):
                lo = meta.ge  # type: ignore[assignment]
            elif isinstance(meta, annotated_types.Le):
                hi = meta.le  # type: ignore[assignment]
        if lo is None or hi is None:
            raise KeyError(f"option {field!r} has no numeric bounds")
        return (lo, hi)

    # ---- request --------------------------------------------------------------------

    @property
    def wants_json(self) -> bool:
        """True when the answer is expected to be JSON (``--json`` or ``--schema``)."""
        return self.json_mode or self.schema_name is not None

    def to_request_params(self, response_format: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The request fields this cell sets, with Groq's names; unset ones are left out.

        ``response_format`` is the resolved schema format (see
        :func:`groq_magic.chat.schema.schema_response_format`); it wins over
        ``--json``. ``extra`` fields come first so explicit options override them.
        ``model``, ``messages`` and ``stream`` are the engine's to add.
        """
        params: dict[str, Any] = dict(self.extra)
        for name, knob in KNOBS.items():
            value = getattr(self, name)
            if knob.param is None or value is None or value == []:
                continue
            if name == "stop" and len(value) == 1:
                value = value[0]  # one stop goes as a string, as the SDK sends it
            params[knob.param] = list(value) if isinstance(value, list) else value
        if response_format is not None:
            params["response_format"] = dict(response_format)
        elif self.json_mode:
            params["response_format"] = {"type": "json_object"}
        return params


def _options_error(
    exc: ValidationError,
    given: Mapping[str, Any],
    *,
    label: Callable[[str], str] = lambda field: FLAGS.get(field, field),
) -> OptionsError:
    """Turn the first pydantic error into one line that names the flag (or ``label``'s name)."""
    err = exc.errors()[0]
    loc = err.get("loc") or ("?",)
    field = str(loc[0])
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        return OptionsError(f"unknown option {field!r}", option=field)
    flag = label(field)
    got = given.get(field, err.get("input"))
    ctx = err.get("ctx") or {}
    if kind in {"greater_than_equal", "less_than_equal", "finite_number"} or (
        isinstance(got, float) and math.isnan(got)
    ):
        try:
            lo, hi = ChatOptions.bounds(field)
        except KeyError:
            pass
        else:
            return OptionsError(
                f"{flag} must be between {_fmt_number(lo)} and {_fmt_number(hi)} (got {got!r})",
                option=flag,
            )
    if kind in {"float_parsing", "float_type"}:
        return OptionsError(f"{flag} must be a number (got {got!r})", option=flag)
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return OptionsError(f"{flag} must be a whole number (got {got!r})", option=flag)
    if kind in {"bool_parsing", "bool_type"}:
        return OptionsError(f"{flag} must be true or false (got {got!r})", option=flag)
    if kind == "string_too_short":
        return OptionsError(f"{flag} must not be empty", option=flag)
    if kind == "value_error":
        reason = str(ctx.get("error", err.get("msg", "is invalid")))
        return OptionsError(f"{flag} {reason}", option=flag)
    return OptionsError(f"{flag}: {err.get('msg', 'invalid value')} (got {got!r})", option=flag)
