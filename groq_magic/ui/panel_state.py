"""What the sliders panel holds, without a widget: its controls' values and what a run sends.

:class:`PanelState` is the panel minus ipywidgets (this module imports none): the
value of every control, which sliders were set (an unset one rests at the server's
default and is not sent), the :class:`ChatOptions` a run would send, the
"copy as cell" text and the line that refuses an out-of-range value. The widget
view (:mod:`groq_magic.ui.panel`) builds its controls from :meth:`PanelState.sliders`
and writes every change back with :meth:`PanelState.change`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from groq_magic.chat.errors import OptionsError
from groq_magic.chat.line import cell_line
from groq_magic.chat.options import FLAGS, ChatOptions
from groq_magic.knobs import SLIDER_KNOBS

__all__ = [
    "CONTROLS",
    "SLIDERS",
    "PanelState",
    "SliderSpec",
    "model_choices",
    "out_of_range",
]

SLIDERS: tuple[str, ...] = tuple(k.name for k in SLIDER_KNOBS)
"""The options shown as sliders, in the knob table's order."""

CONTROLS: tuple[str, ...] = ("model", *SLIDERS, "seed", "system", "json_mode", "stop")
"""Every control of the panel, by the option it sets, in the panel's order."""

# Controls whose value is sent only once set (by the cell's flags or by the user).
_UNSET_UNTIL_MOVED = (*SLIDERS, "seed")


@dataclass(frozen=True)
class SliderSpec:
    """One slider as the view builds it: bounds from the options model, where it starts."""

    name: str
    low: float
    high: float
    start: float
    step: float | None  # None: whole numbers (an integer slider)


@dataclass
class PanelState:
    """The panel's controls as plain values (see the module docstring).

    ``base`` is the cell's own options (what the controls do not show is taken from
    it); ``values`` holds one entry per name in :data:`CONTROLS`; ``explicit`` the
    sliders (and seed) whose value is sent.
    """

    base: ChatOptions
    template: str
    values: dict[str, Any]
    explicit: set[str] = field(default_factory=set)

    @classmethod
    def start(
        cls, base: ChatOptions, prepared: ChatOptions, model: str, template: str
    ) -> PanelState:
        """The controls as the first preparation left them (configured defaults included).

        ``base`` is the options the cell asked for, ``prepared`` those its first
        preparation settled on, ``model`` the model it would use.
        """
        values: dict[str, Any] = {"model": model}
        for knob in SLIDER_KNOBS:
            value = getattr(prepared, knob.name)
            assert knob.slider is not None  # SLIDER_KNOBS have one
            values[knob.name] = value if value is not None else knob.slider.rest
        values |= {
            "seed": prepared.seed or 0,
            "system": prepared.system or "",
            "json_mode": prepared.json_mode,
            "stop": list(prepared.stop),
        }
        explicit = {name for name in _UNSET_UNTIL_MOVED if getattr(prepared, name) is not None}
        return cls(base.model_copy(update={"out": None}), template, values, explicit)

    def sliders(self) -> list[SliderSpec]:
        """The sliders to build, bounds read from :meth:`ChatOptions.bounds`."""
        specs = []
        for knob in SLIDER_KNOBS:
            assert knob.slider is not None  # SLIDER_KNOBS have one
            low, high = ChatOptions.bounds(knob.name)
            specs.append(SliderSpec(knob.name, low, high, self.values[knob.name], knob.slider.step))
        return specs

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names in ``names`` that are no control of the panel, sorted."""
        return sorted(set(names) - set(CONTROLS))

    def change(self, name: str, value: Any, *, moved: bool = True) -> None:
        """Record a control's new value; ``moved`` (by the user or code) makes it sent.

        ``moved=False`` is for values the view settles on by itself (while it builds).
        """
        self.values[name] = value
        if moved and name in _UNSET_UNTIL_MOVED:
            self.explicit.add(name)

    def options(self) -> ChatOptions:
        """The options a run sends now (one OptionsError line if they are invalid)."""
        # Only what is set: an untouched slider stays unset, sent as the server's default.
        data = self.base.model_dump(exclude_unset=True)
        data["model"] = self.values["model"]
        for name in _UNSET_UNTIL_MOVED:
            data[name] = self.values[name] if name in self.explicit else None
        data["system"] = self.values["system"] or None
        data = {k: v for k, v in data.items() if v is not None}
        data["json_mode"] = bool(self.values["json_mode"])
        data["stop"] = list(self.values["stop"])
        return ChatOptions.parse(**data)

    def cell_text(self) -> str:
        """The "copy as cell" text: the ``%%groq`` line for :meth:`options`, then the prompt."""
        return f"{cell_line(self.options())}\n{self.template}"


def out_of_range(name: str, value: Any) -> str:
    """The line refusing ``value`` for the slider ``name`` (the options model's own words)."""
    try:
        ChatOptions.parse(**{name: value})
    except OptionsError as exc:
        line = str(exc)
    else:  # pragma: no cover - the slider's bounds are the model's
        line = f"{FLAGS[name]} value {value!r} is out of range"
    return f"{line} — the slider kept its value; nothing was run"


def model_choices(listed: Iterable[str], current: str) -> list[str]:
    """The model dropdown's names: ``listed``, with ``current`` first if it is missing."""
    names = list(listed)
    if current not in names:
        names.insert(0, current)
    return names
