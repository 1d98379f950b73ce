"""The sliders panel's state without a widget: what the controls hold and what a run sends."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from groq_magic.chat import ChatOptions
from groq_magic.chat.errors import OptionsError
from groq_magic.chat.line import cell_line
from groq_magic.knobs import SLIDER_KNOBS
from groq_magic.ui.panel_state import (
    CONTROLS,
    SLIDERS,
    PanelState,
    model_choices,
    out_of_range,
)


def state_for(template: str = "Say hi.", **options: object) -> PanelState:
    """The state a panel starts from when its first preparation kept ``options`` as they are."""
    parsed = ChatOptions.parse(**options)
    return PanelState.start(parsed, parsed, parsed.model or "alpha", template)


def test_importing_the_state_loads_no_widgets() -> None:
    code = (
        "import sys, groq_magic.ui.panel_state as s;"
        "print(s.PanelState.__name__, 'ipywidgets' in sys.modules, 'IPython' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["PanelState", "False", "False"]


def test_every_control_has_a_value_and_unset_sliders_rest_at_the_servers_defaults() -> None:
    state = state_for(model="alpha", top_p=0.5)
    assert set(state.values) == set(CONTROLS)
    assert state.values["top_p"] == 0.5
    for knob in SLIDER_KNOBS:  # the others rest where the server's defaults are
        if knob.name != "top_p":
            assert knob.slider is not None
            assert state.values[knob.name] == knob.slider.rest
    assert state.explicit == {"top_p"}
    assert (state.values["seed"], state.values["system"], state.values["stop"]) == (0, "", [])


def test_a_run_sends_only_what_was_set() -> None:
    state = state_for(model="alpha", top_p=0.5, max_tokens=20)
    sent = state.options()
    assert (sent.model, sent.top_p, sent.max_tokens) == ("alpha", 0.5, 20)
    assert sent.temperature is None  # resting at the server's default: not sent
    assert sent.seed is None  # the seed box shows 0, but nobody set it


def test_moving_a_control_makes_it_sent_and_appear_in_the_cell() -> None:
    state = state_for(model="alpha")
    assert state.cell_text() == "%%groq -m alpha\nSay hi."
    state.change("temperature", 0.3)
    state.change("seed", 7)
    state.change("system", "Be terse.")
    state.change("json_mode", True)
    state.change("stop", [", 6"])
    sent = state.options()
    assert (sent.temperature, sent.seed, sent.system, sent.json_mode) == (0.3, 7, "Be terse.", True)
    assert sent.stop == [", 6"]
    line, prompt = state.cell_text().split("\n")
    assert (line, prompt) == (cell_line(sent), "Say hi.")
    words = shlex.split(line)
    for flag, value in [("-s", "Be terse."), ("--temperature", "0.3"), ("--seed", "7")]:
        assert words[words.index(flag) + 1] == value
    assert words[words.index("--stop") + 1] == ", 6"
    assert "--json" in words
    assert "--top-p" not in words  # still resting


def test_a_value_the_view_settles_on_is_not_a_move() -> None:
    state = state_for(model="alpha")
    state.change("temperature", 0.9, moved=False)
    assert state.values["temperature"] == 0.9
    assert state.options().temperature is None


def test_the_cells_other_options_are_kept_and_out_is_dropped() -> None:
    state = state_for(model="alpha", chat="drafts", out="answer", history=False)
    sent = state.options()
    assert (sent.chat, sent.history, sent.out) == ("drafts", False, None)


def test_defaults_from_the_first_preparation_start_the_controls() -> None:
    cell = ChatOptions.parse(model="alpha")
    prepared = ChatOptions.parse(model="alpha", temperature=0.2, system="Configured.")
    state = PanelState.start(cell, prepared, "alpha", "Hi.")
    assert state.values["temperature"] == 0.2
    assert state.values["system"] == "Configured."
    assert state.explicit == {"temperature"}
    assert state.options().temperature == 0.2


def test_slider_specs_take_their_bounds_from_the_options_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ChatOptions.bounds

    def narrower(name: str) -> tuple[float, float]:
        return (0.0, 1.5) if name == "temperature" else real(name)

    monkeypatch.setattr(ChatOptions, "bounds", staticmethod(narrower))
    specs = {spec.name: spec for spec in state_for(temperature=0.4).sliders()}
    assert list(specs) == list(SLIDERS)
    assert (specs["temperature"].low, specs["temperature"].high) == (0.0, 1.5)
    assert specs["temperature"].start == 0.4
    assert specs["max_tokens"].step is None  # whole numbers
    assert specs["top_p"].step is not None


def test_an_invalid_control_is_one_options_error_line() -> None:
    state = state_for(model="alpha")
    state.change("temperature", 7.0)
    with pytest.raises(OptionsError) as excinfo:
        state.options()
    assert "\n" not in str(excinfo.value)
    assert str(excinfo.value).startswith("--temperature must be between 0 and 2")


def test_an_out_of_range_value_is_refused_in_the_models_words() -> None:
    assert out_of_range("top_p", 7.0) == (
        "--top-p must be between 0 and 1 (got 7.0) — the slider kept its value; nothing was run"
    )


def test_unknown_names_are_found_and_sorted() -> None:
    assert state_for().unknown(["temperature", "colour", "arm"]) == ["arm", "colour"]
    assert state_for().unknown(CONTROLS) == []


def test_model_choices_add_the_current_model_first_when_missing() -> None:
    assert model_choices(["alpha", "beta"], "beta") == ["alpha", "beta"]
    assert model_choices(["beta", "alpha"], "gamma") == ["gamma", "beta", "alpha"]
    assert model_choices([], "alpha") == ["alpha"]
