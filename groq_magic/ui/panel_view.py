"""The sliders panel's widgets, built from a :class:`~groq_magic.ui.panel_state.PanelState`.

Thin on purpose: this module knows ipywidgets and nothing of sessions or requests.
:class:`PanelView` makes one control per name in
:data:`~groq_magic.ui.panel_state.CONTROLS` from the state's values (slider bounds
from :meth:`PanelState.sliders`), the buttons, the message line, the answer area
and the copy-as-cell box, and reports each change by control name; the panel
(:class:`~groq_magic.ui.panel.ParameterPanel`) decides what a change does.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from groq_magic.ui.panel_state import PanelState, SliderSpec

__all__ = ["PanelView", "escape_html"]

# "initial" sizes each label to its text (the default width cut "temperature").
_WIDE = {"description_width": "initial"}


def escape_html(text: str) -> str:
    """``text`` safe inside an HTML widget."""
    return html.escape(text)


def _guarded(cls: type, on_reject: Callable[[Any], None]) -> Any:
    """An instance-maker for ``cls`` (a bounded slider) that refuses out-of-range values.

    ipywidgets clamps ``slider.value = 5`` silently to ``max``; this one keeps its
    value and calls ``on_reject`` instead.
    """
    from traitlets import validate

    class Guarded(cls):  # type: ignore[misc]
        @validate("value")
        def _validate_value(self, proposal: Any) -> Any:
            value = proposal["value"]
            if value < self.min or value > self.max:
                on_reject(value)
                return self.value
            return super()._validate_value(proposal)

    return Guarded


def _slider(spec: SliderSpec, on_reject: Callable[[str, Any], None]) -> Any:
    import ipywidgets as widgets

    cls: type = widgets.IntSlider if spec.step is None else widgets.FloatSlider
    extra: dict[str, Any] = (
        {} if spec.step is None else {"step": spec.step, "readout_format": ".2f"}
    )
    guarded = _guarded(cls, lambda value: on_reject(spec.name, value))
    return guarded(
        min=spec.low,
        max=spec.high,
        value=spec.start,
        description=spec.name,
        continuous_update=False,
        style=_WIDE,
        **extra,
    )


class PanelView:
    """The panel's widgets (see the module docstring).

    ``models`` fills the model dropdown; ``note`` is the first message line;
    ``on_reject(name, value)`` is told of a slider value out of its bounds.
    """

    def __init__(
        self,
        state: PanelState,
        models: list[str],
        note: str,
        on_reject: Callable[[str, Any], None],
    ) -> None:
        import ipywidgets as widgets

        values = state.values
        self.model = widgets.Dropdown(
            options=models, value=values["model"], description="model", style=_WIDE
        )
        self.sliders: dict[str, Any] = {
            spec.name: _slider(spec, on_reject) for spec in state.sliders()
        }
        self.seed = widgets.IntText(value=values["seed"], description="seed", style=_WIDE)
        self.system = widgets.Textarea(value=values["system"], description="system", style=_WIDE)
        self.json_mode = widgets.Checkbox(value=values["json_mode"], description="JSON")
        self.stop = widgets.TagsInput(
            value=list(values["stop"]),
            allow_duplicates=False,
            layout=widgets.Layout(min_width="16em"),
        )
        self.run_button = widgets.Button(description="Run", icon="play")
        self.keep_button = widgets.Button(description="Keep", icon="check", disabled=True)
        self.message = widgets.HTML(value=escape_html(note) if note else "")
        self.answer = widgets.Output()
        self.copy = widgets.Textarea(
            value="", description="cell", layout=widgets.Layout(width="100%")
        )
        self._box: Any = None

    def controls(self) -> dict[str, Any]:
        """Every control whose change re-runs the prompt, by the option it sets."""
        return {
            "model": self.model,
            **self.sliders,
            "seed": self.seed,
            "system": self.system,
            "json_mode": self.json_mode,
            "stop": self.stop,
        }

    def wire(
        self,
        on_change: Callable[[str, Any], None],
        on_run: Callable[[], object],
        on_keep: Callable[[], object],
    ) -> None:
        """Call ``on_change(name, value)`` on each control's change, and the buttons' actions."""
        for name, control in self.controls().items():
            control.observe(lambda change, name=name: on_change(name, change["new"]), names="value")
        self.run_button.on_click(lambda _: on_run())
        self.keep_button.on_click(lambda _: on_keep())

    def say(self, line: str) -> None:
        """Show one line in the message area."""
        self.message.value = escape_html(line)

    @property
    def widget(self) -> Any:
        """The whole panel as one ``VBox`` (built once)."""
        if self._box is None:
            self._box = self._layout()
        return self._box

    def _layout(self) -> Any:
        import ipywidgets as widgets

        settings = widgets.VBox(
            [
                self.model,
                *self.sliders.values(),
                self.seed,
                self.system,
                self.json_mode,
                widgets.HBox([widgets.Label("stop"), self.stop]),
            ]
        )
        buttons = widgets.HBox([self.run_button, self.keep_button])
        return widgets.VBox([settings, buttons, self.message, self.answer, self.copy])

    def plain_text(self) -> str:
        """The answer on screen, its status line and the copy-as-cell text, as plain text."""
        shown = self.answer.outputs[-1]["data"].get("text/plain", "") if self.answer.outputs else ""
        return f"{shown}\n\n{self.copy.value}" if shown else self.copy.value
