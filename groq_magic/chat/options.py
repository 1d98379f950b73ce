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
from typing import TYPE_CHECKING, Any, ClassVar

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from typing_extensions import Self

from groq_magic._keys import KEY_SHAPE, REDACTED, redact
from groq_magic.chat.errors import OptionsError
from groq_magic.knobs import FLAGS, KNOBS, Knob, extra_field_problem

__all__ = [
    "FLAGS",
    "ChatOptions",
    "OptionsBase",
    "is_secret_key",
    "options_model",
    "strip_secrets",
]

_SECRET_NAME = re.compile(r"(api[_-]?key|authorization|secret|password|token$|bearer)", re.I)
# Usage counters and timings legitimately end in "token(s)" ("max_tokens", a row's
# "time_to_first_token"); they are not secrets.
_NOT_SECRET = re.compile(
    r"(^|_)(max|prompt|completion|total|reasoning|cached)_?(completion_)?tokens?$"
    r"|(^|_)(first|last|next|per)_token$",
    re.I,
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


class OptionsBase(BaseModel):
    """What every options model shares: validation by the knob table, construction, the request.

    The fields themselves come from a knob table (:func:`options_model`); the knobs
    it was made from are :attr:`knobs`. Use :data:`ChatOptions`, the model of
    :data:`groq_magic.knobs.KNOBS`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    knobs: ClassVar[Mapping[str, Knob]] = {}
    """The knob table this model's fields were made from."""

    extra: dict[str, Any] = Field(default_factory=dict, description="extra request fields")

    if TYPE_CHECKING:
        # The knob fields are made at run time from the table; a checker sees them as Any.
        def __getattr__(self, name: str) -> Any: ...

    @field_validator("*", mode="before")
    @classmethod
    def _as_list(cls, value: object, info: ValidationInfo) -> object:
        """A list knob takes one value or several: ``--stop ", 6"`` is one sequence, and
        ``--tools a,b`` (or ``%config GroqMagics.tools = "a,b"``) two names."""
        knob = cls.knobs.get(str(info.field_name))
        if knob is None or not knob.is_list:
            return value
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if knob.csv and isinstance(items, list | tuple):
            split = (part.strip() for item in items for part in str(item).split(","))
            return [part for part in split if part]
        return items

    @field_validator("*")
    @classmethod
    def _by_the_table(cls, value: Any, info: ValidationInfo) -> Any:
        """The knob's own rules: how many items, names, choices, no duplicates."""
        knob = cls.knobs.get(str(info.field_name))
        if knob is None or value is None:
            return value
        if knob.is_list:
            return _checked_items(knob, list(value))
        if knob.choices is not None and value not in knob.choices:
            raise ValueError(f"must be one of {', '.join(knob.choices)} (got {value!r})")
        if knob.identifier is not None and not str(value).isidentifier():
            raise ValueError(f"must be {knob.identifier} (got {value!r})")
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
    def parse(cls, **kwargs: Any) -> Self:
        """Validate keyword options; any problem is one :class:`OptionsError` line."""
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            raise _options_error(cls, exc, kwargs) from None

    @classmethod
    def check_default(cls, name: str, value: Any, *, called: str) -> Any:
        """``value`` validated as a default for knob ``name``; errors name it ``called``.

        ``%config GroqMagics.temperature = 7`` is refused when set, with a line that
        speaks of ``GroqMagics.temperature`` rather than a flag nobody typed.
        """
        try:
            checked = cls(**{name: value})
        except ValidationError as exc:
            raise _options_error(cls, exc, {name: value}, label=lambda _: called) from None
        return getattr(checked, name)

    def with_defaults(self, defaults: Mapping[str, Any]) -> Self:
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
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> Self:
        """Rebuild options from :meth:`snapshot` output (unknown keys are ignored)."""
        known = {k: v for k, v in snapshot.items() if k in cls.model_fields}
        return cls.parse(**known)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready dict of the options, for history; never holds a credential."""
        data: dict[str, Any] = strip_secrets(self.model_dump(mode="json"))
        return data

    def merged(self, **changes: Any) -> Self:
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
        for name, knob in self.knobs.items():
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
    model: type[OptionsBase],
    exc: ValidationError,
    given: Mapping[str, Any],
    *,
    label: Callable[[str], str] | None = None,
) -> OptionsError:
    """Turn the first pydantic error into one line that names the flag (or ``label``'s name)."""
    if label is None:
        flags = {name: knob.flag for name, knob in model.knobs.items()}
        label = lambda field: flags.get(field, field)  # noqa: E731
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
            lo, hi = model.bounds(field)
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


def _checked_items(knob: Knob, items: list[Any]) -> list[Any]:
    """A list knob's items by its rules (see :class:`groq_magic.knobs.Knob`)."""
    if knob.max_items is not None and len(items) > knob.max_items:
        raise ValueError(f"takes at most {knob.max_items} {knob.noun} (got {len(items)})")
    if knob.no_empty and any(item == "" for item in items):
        raise ValueError(f"{knob.noun} must not be empty")
    if knob.identifier is not None:
        for item in items:
            if not str(item).isidentifier():
                raise ValueError(f"takes {knob.identifier} (got {item!r})")
    return list(dict.fromkeys(items)) if knob.unique else items


def _field(knob: Knob) -> tuple[Any, Any]:
    """The pydantic field of ``knob``: its type, its default and its bounds."""
    constraints = knob.constraints()
    if knob.is_list:
        return list[knob.kind], Field(default_factory=list, **constraints)  # type: ignore[name-defined]
    if knob.is_switch:
        return bool, Field(bool(knob.default), **constraints)
    return knob.kind | None, Field(knob.default, **constraints)


def options_model(table: Mapping[str, Knob], name: str = "ChatOptions") -> type[OptionsBase]:
    """An options model whose fields are the knobs of ``table`` (plus ``extra``)."""
    fields: dict[str, Any] = {knob.name: _field(knob) for knob in table.values()}
    model = create_model(name, __base__=OptionsBase, __module__=__name__, **fields)
    model.knobs = dict(table)
    model.__doc__ = "The options of one ``%%groq`` cell: every knob of the table, validated."
    return model


if TYPE_CHECKING:
    ChatOptions = OptionsBase
else:
    ChatOptions = options_model(KNOBS)
    """The options of one ``%%groq`` cell: the model of :data:`groq_magic.knobs.KNOBS`."""
