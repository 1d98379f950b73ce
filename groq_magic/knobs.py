"""The table of ``%%groq`` knobs: each one declared once, every view derived from it.

Standard library only, so ``%load_ext`` can build the magic's parser and the
``%config`` traits without loading pydantic. What reads this table:

- :class:`groq_magic.chat.ChatOptions`: its fields are made from the table (type,
  default, bounds, list and name rules; :func:`groq_magic.chat.options.options_model`),
  and its one-line errors name each knob's flag;
- the request: each knob's ``param`` is the wire field it sets;
- the magic's argument parser, the ``%config GroqMagics.<name>`` defaults and
  their checks (:mod:`groq_magic.magics`);
- the compare grid's list-taking fields, the table columns of compares, sweeps and
  batches (``column``), and what a check's pass rate is grouped by (``groups``);
- the panel's sliders and the ``%%groq`` line written for a set of options (the
  panel's "copy as cell" and ``%groq export``: :func:`groq_magic.chat.line.cell_line`).

Adding a knob is one :class:`Knob` here; every view above picks it up (a test adds
one to a copy of the table and finds it in each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CONFIG_KNOBS",
    "ENGINE_FIELDS",
    "EXTRA_FIELDS",
    "FLAGS",
    "GRID_FIELDS",
    "KNOBS",
    "SLIDER_KNOBS",
    "Knob",
    "Slider",
    "column_names",
    "extra_field_problem",
    "group_names",
]


@dataclass(frozen=True)
class Slider:
    """How the sliders panel shows a bounded knob: where it rests while unset, its step."""

    rest: float
    step: float | None = None  # None: whole numbers (an integer slider)


@dataclass(frozen=True)
class Knob:
    """One knob: its field, flags, help, bounds, and how each view shows it.

    - ``style``: ``value`` (takes one value), ``switch`` (``--json`` sets True),
      ``negated`` (``--no-stream`` sets False), ``append`` (``--stop`` repeats).
    - ``list_flag``: the flag that takes a comma list for a compare grid (the knob's
      own flag, or ``--compare`` for models; ``list_help`` describes a separate one).
    - ``config``: also a ``%config GroqMagics.<name>`` default.
    - ``slider``: shown as a slider in the panel (needs ``ge`` and ``le``).
    - ``param``: the request field it sets (None: not sent as a field of its own).
    - ``escapes``: ``\\n``, ``\\t`` typed on the line become characters (``--stop``).
    - ``choices``: the only values it takes (``--reasoning-effort``).
    - ``csv``: one flag value is a comma-separated list (``--tools a,b``).
    - ``runs_code``: it makes notebook code run (``--tools``); a turn read from a file or
      the store never turns it on again by itself (:func:`groq_magic.chat.prepare.options_again`).
    - ``column``: a column of compare, sweep and batch tables; ``groups``: a check's pass
      rate is given per value of it (not ``seed``: repeats vary it).
    - ``max_items`` / ``noun``: a list knob takes at most this many (``--stop``: 4
      sequences); ``no_empty``: its items must not be empty; ``unique``: an item given
      twice is one.
    - ``identifier``: each value (or item) must be a Python name; the text says what
      kind (``a Python variable name``, ``names of notebook functions``).
    """

    name: str
    kind: type
    flag: str
    help: str
    default: Any = None
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    short: str | None = None
    metavar: str | None = None
    style: Literal["value", "switch", "negated", "append"] = "value"
    list_flag: str | None = None
    list_help: str | None = None
    config: bool = False
    slider: Slider | None = None
    param: str | None = None
    escapes: bool = False
    choices: tuple[str, ...] | None = None
    csv: bool = False
    runs_code: bool = False
    column: bool = False
    groups: bool = False
    max_items: int | None = None
    noun: str = "values"
    no_empty: bool = False
    unique: bool = False
    identifier: str | None = None

    @property
    def is_list(self) -> bool:
        """True when the knob holds a list (``--stop`` repeats, ``--tools a,b``)."""
        return self.style == "append" or self.csv

    @property
    def is_switch(self) -> bool:
        """True for an on/off knob (``--json``, ``--no-stream``)."""
        return self.style in ("switch", "negated")

    @property
    def flags(self) -> tuple[str, ...]:
        """The option strings, short first (what argparse is given)."""
        return (self.short, self.flag) if self.short else (self.flag,)

    def constraints(self) -> dict[str, Any]:
        """Keyword arguments for this knob's pydantic ``Field``: its bounds and help."""
        args: dict[str, Any] = {"description": self.help}
        for name in ("ge", "le", "min_length"):
            if getattr(self, name) is not None:
                args[name] = getattr(self, name)
        return args


_TABLE = (
    Knob("model", str, "--model", "Model id (see %groq models).", min_length=1, short="-m",
         list_flag="--compare", config=True, column=True, groups=True,
         list_help="Run the prompt on each model (comma-separated) side by side, with a"
         " summary table."),
    Knob("temperature", float, "--temperature",
         "Sampling temperature, 0 to 2 (a list 0,0.7,1.2 compares).", ge=0.0, le=2.0,
         short="-t", list_flag="--temperature", config=True,
         slider=Slider(rest=1.0, step=0.05), param="temperature", column=True, groups=True),
    Knob("top_p", float, "--top-p", "Nucleus sampling mass, 0 to 1 (or a list).", ge=0.0,
         le=1.0, list_flag="--top-p", config=True, slider=Slider(rest=1.0, step=0.05),
         param="top_p", column=True, groups=True),
    Knob("max_tokens", int, "--max-tokens", "Most tokens to generate (or a list).", ge=1,
         le=131072, list_flag="--max-tokens", config=True, slider=Slider(rest=1024),
         param="max_completion_tokens", column=True, groups=True),
    Knob("seed", int, "--seed", "Sampling seed, for repeatable answers (or a list).",
         list_flag="--seed", config=True, param="seed", column=True),
    Knob("system", str, "--system", "System prompt for this cell.", short="-s", config=True),
    Knob("stop", str, "--stop",
         'A stop sequence (repeat for up to 4); quote it: --stop ", 6". \\n is a newline.',
         style="append", escapes=True, param="stop", max_items=4, noun="sequences",
         no_empty=True),
    Knob("tools", str, "--tools",
         "Let the model call these notebook functions (comma-separated names).", short="-T",
         metavar="NAMES", csv=True, config=True, runs_code=True, unique=True,
         identifier="names of notebook functions"),
    Knob("tool_choice", str, "--tool-choice",
         "With --tools: auto (the model decides), required, none, or a tool's name (call it"
         " first).", metavar="CHOICE", min_length=1, config=True, runs_code=True),
    Knob("max_steps", int, "--max-steps",
         "With --tools: most requests in one turn (tool rounds), 1 to 64; default 8.", ge=1,
         le=64, config=True),
    Knob("mcp", str, "--mcp",
         "Offer the tools of these MCP servers (comma-separated names from"
         " GroqMagics.mcp_servers or mcp_config; %groq mcp lists them).", metavar="NAMES",
         csv=True, config=True, runs_code=True, unique=True),
    Knob("approve", str, "--approve",
         "Before a tool runs: ask (show the call, wait for a yes: the default for MCP tools),"
         " always (the default for notebook functions), never (run nothing).",
         choices=("ask", "always", "never"), config=True, runs_code=True),
    Knob("images", str, "--image",
         "An image to send: a file path, an http(s) URL or a notebook variable (repeat for"
         " more).", metavar="SRC", style="append"),
    Knob("reasoning_effort", str, "--reasoning-effort",
         "How hard a reasoning model thinks: low, medium, high (gpt-oss); none, default (qwen3).",
         choices=("none", "default", "low", "medium", "high"), config=True,
         param="reasoning_effort"),
    Knob("reasoning_format", str, "--reasoning-format",
         "Where a reasoning model's thinking goes: parsed (shown apart), raw (inline), hidden.",
         choices=("parsed", "raw", "hidden"), config=True, param="reasoning_format"),
    Knob("context", str, "--context",
         "Show the model these notebook names before the prompt: variables, functions,"
         " In[n], Out[n], Err (the last error) or a text file's path (comma-separated;"
         " repeat for more).", short="-x", metavar="NAMES", style="append", csv=True,
         config=True, unique=True),
    Knob("context_limit", int, "--context-limit",
         "Most tokens of --context, 100 to 131072 (default 4000); more is clipped with a"
         " note.", ge=100, le=131072, config=True),
    Knob("code", bool, "--code",
         "The answer is code: asked for in the kernel's language, put into a new cell below"
         " (never run); in ChatResult.code.", default=False, style="switch"),
    Knob("cache", bool, "--cache",
         "Replay the stored answer when the same request went to the same server before.",
         default=False, style="switch", config=True),
    Knob("json_mode", bool, "--json", "JSON mode: the answer is parsed into .json.",
         default=False, style="switch"),
    Knob("schema_name", str, "--schema",
         "Structured output: a pydantic model class or JSON-schema dict in the notebook.",
         min_length=1, metavar="NAME", identifier="a Python variable name"),
    Knob("chat", str, "--chat", "Talk in the named chat (created if new).", min_length=1,
         short="-c", metavar="NAME"),
    Knob("history", bool, "--no-history", "Send no earlier turns and record none.",
         default=True, style="negated"),
    Knob("stream", bool, "--no-stream", "Wait for the whole answer.", default=True,
         style="negated", config=True),
    Knob("out", str, "--out", "Also store the ChatResult (or table) in VAR.", short="-o",
         metavar="VAR", identifier="a Python variable name"),
)  # fmt: skip

KNOBS: dict[str, Knob] = {knob.name: knob for knob in _TABLE}
"""Every knob by field name, in the order ``%%groq?`` lists them."""

CONFIG_KNOBS: tuple[Knob, ...] = tuple(k for k in _TABLE if k.config)
"""The knobs that are also ``%config GroqMagics.<name>`` defaults."""

SLIDER_KNOBS: tuple[Knob, ...] = tuple(k for k in _TABLE if k.slider is not None)
"""The knobs the sliders panel shows as sliders."""

GRID_FIELDS: tuple[str, ...] = tuple(k.name for k in _TABLE if k.list_flag is not None)
"""The options a compare grid may vary, in the order the grid nests them."""


def column_names(table: Mapping[str, Knob] | None = None) -> tuple[str, ...]:
    """The knobs that are columns of compare, sweep and batch tables, in table order."""
    return tuple(k.name for k in (table or KNOBS).values() if k.column)


def group_names(table: Mapping[str, Knob] | None = None) -> tuple[str, ...]:
    """The knobs a check's pass rate is grouped by (those that vary in a run)."""
    return tuple(k.name for k in (table or KNOBS).values() if k.groups)


FLAGS: dict[str, str] = {knob.name: knob.flag for knob in _TABLE} | {"extra": "extra"}
"""Field name -> the flag a user typed; error messages speak in flags."""

EXTRA_FIELDS: dict[str, tuple[type, ...]] = {
    "frequency_penalty": (int, float),
    "presence_penalty": (int, float),
    "service_tier": (str,),
    "user": (str,),
    "logprobs": (bool,),
    "top_logprobs": (int,),
    "logit_bias": (dict,),
    "parallel_tool_calls": (bool,),
    "include_reasoning": (bool,),
    "search_settings": (dict,),
    "citation_options": (str,),
    "documents": (list,),
    "compound_custom": (dict,),
    "metadata": (dict,),
}
"""Request fields ``extra=`` may set, with the types each takes: Groq's fields that have
no flag of their own. Anything else is refused (a knob's field has its flag; the
engine's fields are the engine's), so neither a typo nor a loaded file can slip a field
into the request."""

ENGINE_FIELDS: dict[str, str] = {
    "model": "--model",
    "messages": "the prompt and the chat's history",
    "stream": "--no-stream",
    "stream_options": "groq_magic (usage is always asked for)",
    "tools": "--tools",
    "tool_choice": "--tool-choice",
    "response_format": "--json or --schema",
    "max_tokens": "--max-tokens",
    "n": "groq_magic (one answer per request)",
    "functions": "--tools",
    "function_call": "--tool-choice",
}
"""Request fields that something else sets, and what does."""


def extra_field_problem(name: str, value: Any) -> str | None:
    """Why ``extra={name: value}`` is refused, as the end of a one-line message; None if fine."""
    owner = ENGINE_FIELDS.get(name) or next((k.flag for k in _TABLE if k.param == name), None)
    if owner is not None:
        return f"{name!r} is set by {owner}, not by extra"
    kinds = EXTRA_FIELDS.get(name)
    if kinds is None:
        return f"{name!r} is not a request field it takes (it takes: {', '.join(EXTRA_FIELDS)})"
    if isinstance(value, bool) and bool not in kinds:
        return f"{name!r} must be {'/'.join(k.__name__ for k in kinds)} (got {value!r})"
    if not isinstance(value, kinds):
        return f"{name!r} must be {'/'.join(k.__name__ for k in kinds)} (got {value!r})"
    return None
