"""The sliders panel without a browser: drive the widgets from Python, check runs and display."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from IPython.core.error import UsageError
from scripted_server import Reply
from ui_fakes import RecordingDisplay, RoutedServer, ZMQInteractiveShell, answer_reply

from groq_magic.chat import ChatOptions
from groq_magic.ui import panel as panel_module
from groq_magic.ui.panel import DEBOUNCE, ParameterPanel, cell_line, show_panel


@dataclass
class Pending:
    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """Keeps scheduled callbacks until the test fires them."""

    def __init__(self) -> None:
        self.scheduled: list[Pending] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Pending:
        pending = Pending(delay, callback)
        self.scheduled.append(pending)
        return pending

    @property
    def live(self) -> list[Pending]:
        return [p for p in self.scheduled if not p.cancelled]

    def fire(self) -> int:
        due, self.scheduled = self.live, []
        for pending in due:
            pending.callback()
        return len(due)


def _answer(panel: ParameterPanel) -> str:
    return str(panel.answer.outputs[-1]["data"]["text/markdown"])


@pytest.fixture
def make_panel(ip: Any) -> Callable[..., tuple[ParameterPanel, ManualScheduler, list[str]]]:
    session = ip._groq_magics.session

    def factory(
        prompt: str = "Say hi.", **options: Any
    ) -> tuple[ParameterPanel, ManualScheduler, list[str]]:
        scheduler = ManualScheduler()
        echoed: list[str] = []
        panel = ParameterPanel(
            session,
            ChatOptions.parse(**options),
            prompt,
            {},
            scheduler=scheduler,
            echo=echoed.append,
        )
        return panel, scheduler, echoed

    return factory


def test_slider_bounds_come_from_the_options_model(make_panel: Any) -> None:
    panel, _, _ = make_panel()
    for name, slider in panel.sliders.items():
        assert (slider.min, slider.max) == ChatOptions.bounds(name)


def test_a_changed_bound_in_the_model_changes_the_slider(
    make_panel: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ChatOptions.bounds

    def narrower(field: str) -> tuple[float, float]:
        return (0.0, 1.5) if field == "temperature" else real(field)

    monkeypatch.setattr(ChatOptions, "bounds", staticmethod(narrower))
    panel, _, _ = make_panel()
    assert (panel.sliders["temperature"].min, panel.sliders["temperature"].max) == (0.0, 1.5)


def test_model_dropdown_lists_the_servers_models(make_panel: Any, routed: RoutedServer) -> None:
    routed.models = ["beta", "alpha", "gamma"]
    panel, _, _ = make_panel(model="beta")
    assert list(panel.model.options) == ["alpha", "beta", "gamma"]
    assert panel.model.value == "beta"
    assert panel.message.value == ""


def test_model_list_failure_falls_back_to_the_current_model_with_a_note(
    make_panel: Any, routed: RoutedServer
) -> None:
    routed.route("GET", "/v1/models", Reply(status=503, json={"error": {"message": "down"}}))
    panel, _, _ = make_panel(model="alpha")
    assert list(panel.model.options) == ["alpha"]
    assert panel.message.value.startswith("model list unavailable (503")


def test_moving_a_slider_reruns_once_after_the_debounce(
    make_panel: Any, routed: RoutedServer
) -> None:
    panel, scheduler, _ = make_panel(model="alpha", max_tokens=20)
    panel.run()
    assert routed.chat_bodies()[-1].get("temperature") is None  # unset: not sent
    assert _answer(panel).startswith("answer: model=alpha max_completion_tokens=20")
    panel.sliders["temperature"].value = 0.3
    panel.sliders["temperature"].value = 0.4  # within the debounce: replaces the pending run
    assert len(routed.chat_bodies()) == 1  # nothing sent until the quiet period ends
    assert [p.delay for p in scheduler.live] == [DEBOUNCE]
    assert scheduler.fire() == 1
    bodies = routed.chat_bodies()
    assert len(bodies) == 2
    assert bodies[-1]["temperature"] == 0.4
    assert bodies[-1]["max_completion_tokens"] == 20
    assert _answer(panel).startswith("answer: model=alpha temperature=0.4 max_completion_tokens=20")
    assert _answer(panel).endswith("stop*")  # the status line under the answer


@pytest.mark.parametrize(
    ("control", "value", "field", "expected"),
    [
        ("model", "beta", "model", "beta"),
        ("top_p", 0.5, "top_p", 0.5),
        ("max_tokens", 64, "max_completion_tokens", 64),
        ("seed", 42, "seed", 42),
        ("system", "Be terse.", "messages", [{"role": "system", "content": "Be terse."}]),
        ("json_mode", True, "response_format", {"type": "json_object"}),
        ("stop", [", 6", "\n"], "stop", [", 6", "\n"]),
    ],
)
def test_each_control_reaches_the_request(
    make_panel: Any, routed: RoutedServer, control: str, value: Any, field: str, expected: Any
) -> None:
    panel, scheduler, _ = make_panel(model="alpha")
    widget = panel.sliders.get(control) or getattr(panel, control)
    widget.value = value
    assert scheduler.fire() == 1
    body = routed.chat_bodies()[-1]
    if field == "messages":
        assert body["messages"][:1] == expected
    else:
        assert body[field] == expected


def test_runs_do_not_touch_history_until_keep_records_exactly_one(
    ip: Any, make_panel: Any, routed: RoutedServer
) -> None:
    conversation = ip._groq_magics.session.store.current
    panel, scheduler, _ = make_panel(model="alpha")
    assert panel.keep_button.disabled
    panel.run()
    panel.sliders["temperature"].value = 1.1
    scheduler.fire()
    assert len(conversation) == 0
    assert not panel.keep_button.disabled
    panel.keep_button.click()
    assert len(conversation) == 1
    assert conversation.last().answer == "answer: model=alpha temperature=1.1"
    assert conversation.last().prompt == "Say hi."
    panel.keep()  # nothing new shown since: nothing recorded
    assert len(conversation) == 1
    assert panel.message.value == "nothing to keep: run the prompt first"
    panel.run()
    panel.keep()  # keeping again replaces the kept turn instead of piling up
    assert len(conversation) == 1


def test_copy_as_cell_run_by_the_magic_sends_the_same_request(
    ip: Any, make_panel: Any, routed: RoutedServer
) -> None:
    panel, _, _ = make_panel(model="alpha", chat="drafts")
    panel.sliders["temperature"].value = 0.7
    panel.sliders["top_p"].value = 0.9
    panel.sliders["max_tokens"].value = 300
    panel.seed.value = 12
    panel.system.value = 'You\'re a "careful" assistant.'
    panel.json_mode.value = True
    panel.stop.value = [", 6", "\n", "it's", "a\\b"]
    routed.responder = lambda request: answer_reply('{"ok": true}')
    panel.run()
    line, prompt = panel.copy.value.split("\n", 1)
    assert prompt == "Say hi."
    assert line == cell_line(panel.options())
    result = ip.run_cell_magic("groq", line.removeprefix("%%groq "), prompt)
    from_panel, from_cell = routed.chat_bodies()
    assert from_cell == from_panel
    assert from_cell["stop"] == [", 6", "\n", "it's", "a\\b"]
    assert result.request == panel.result.request


def test_copy_as_cell_leaves_unset_sliders_out(make_panel: Any) -> None:
    panel, _, _ = make_panel(model="alpha", top_p=0.5)
    assert panel.copy.value == "%%groq -m alpha --top-p 0.5\nSay hi."


def test_out_of_range_value_from_code_is_one_line_and_runs_nothing(
    make_panel: Any, routed: RoutedServer
) -> None:
    panel, scheduler, echoed = make_panel(model="alpha", temperature=0.5)
    hi = ChatOptions.bounds("temperature")[1]
    panel.sliders["temperature"].value = hi + 3
    line = f"--temperature must be between 0 and 2 (got {hi + 3!r})"
    assert panel.sliders["temperature"].value == 0.5  # not silently clamped to the max
    assert panel.message.value.startswith(line)
    assert echoed == [f"{line} — the slider kept its value; nothing was run"]
    assert scheduler.live == []
    assert routed.chat_bodies() == []
    panel.sliders["max_tokens"].value = 0
    assert echoed[-1].startswith("--max-tokens must be between 1 and 131072 (got 0)")


def test_a_failed_run_shows_one_line_and_offers_nothing_to_keep(
    make_panel: Any, routed: RoutedServer
) -> None:
    panel, _, _ = make_panel(model="nope")
    assert panel.run() is None
    assert panel.message.value.startswith("404 model_not_found")
    assert panel.keep_button.disabled
    assert panel.answer.outputs == ()


def test_template_is_filled_from_the_namespace(ip: Any, routed: RoutedServer) -> None:
    panel = ParameterPanel(
        ip._groq_magics.session,
        ChatOptions(model="alpha"),
        "About {topic}.",
        {"topic": "owls"},
        scheduler=ManualScheduler(),
    )
    panel.run()
    assert routed.chat_bodies()[-1]["messages"][-1]["content"] == "About owls."
    assert panel.copy.value.endswith("\nAbout {topic}.")


# -- through the magic --------------------------------------------------------------------


def test_ui_cell_without_a_widget_frontend_runs_once_in_plain_text(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell_magic("groq", "--ui -m alpha -t 0.2", "Say hi.")
    assert result.text == "answer: model=alpha temperature=0.2"
    out = capsys.readouterr().out
    assert "no widget frontend here" in out
    assert "%%groq -m alpha --temperature 0.2\nSay hi." in out
    assert len(ip._groq_magics.session.store.current) == 0


def test_groq_ui_needs_a_previous_turn(ip: Any, routed: RoutedServer) -> None:
    with pytest.raises(UsageError, match=r"has no turns yet: %groq ui re-runs the last prompt"):
        ip.run_line_magic("groq", "ui")
    assert routed.requests == []


def test_groq_ui_shows_the_last_prompt_with_its_settings(
    ip: Any, routed: RoutedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip.run_cell_magic("groq", "-m alpha -t 0.6", "First question.")
    conversation = ip._groq_magics.session.store.current
    scheduler = ManualScheduler()
    shown = RecordingDisplay()
    panel = show_panel(
        ip._groq_magics.session,
        ChatOptions(),
        None,
        ip.user_ns,
        shell=ZMQInteractiveShell(),
        scheduler=scheduler,
        display=shown,
    )
    assert isinstance(panel, ParameterPanel)
    (handle,) = shown.handles  # one display: the panel's VBox
    view = handle.bundles[-1]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id
    # Without a widget manager (nbconvert HTML, GitHub) the fallback text holds the answer.
    assert handle.bundles[0]["text/plain"].startswith("(the sliders panel")
    assert handle.bundles[-1]["text/plain"].startswith(
        "answer: model=alpha temperature=0.6\n\nalpha · TTFT"
    )
    assert handle.bundles[-1]["text/plain"].endswith(
        "stop\n\n%%groq -m alpha --temperature 0.6\nFirst question."
    )
    body = routed.chat_bodies()[-1]
    # The last turn is being re-run: it is not in the window, its settings are.
    assert body["messages"] == [{"role": "user", "content": "First question."}]
    assert (body["model"], body["temperature"]) == ("alpha", 0.6)
    assert _answer(panel).startswith("answer: model=alpha temperature=0.6")
    panel.sliders["temperature"].value = 0.9
    scheduler.fire()
    panel.keep()
    assert len(conversation) == 1  # replaced, not appended
    assert conversation.last().answer == "answer: model=alpha temperature=0.9"


def test_kernel_scheduler_uses_the_running_loop() -> None:
    import asyncio

    fired: list[str] = []

    async def main() -> None:
        handle = panel_module.kernel_scheduler(0.0, lambda: fired.append("x"))
        assert isinstance(handle, asyncio.TimerHandle)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert fired == ["x"]


def test_set_from_code_runs_once_now_and_refuses_out_of_range(
    make_panel: Any, routed: RoutedServer
) -> None:
    panel, scheduler, echoed = make_panel(model="alpha")
    result = panel.set(temperature=0.25, seed=5)
    assert result is not None
    assert result.text == "answer: model=alpha temperature=0.25 seed=5"
    assert scheduler.live == []  # ran now, nothing left pending
    assert panel.copy.value == "%%groq -m alpha --temperature 0.25 --seed 5\nSay hi."
    assert panel.set(top_p=7) is None
    assert echoed[-1].startswith("--top-p must be between 0 and 1 (got 7.0)")
    assert panel.set(colour="red") is None
    assert panel.message.value == "the panel has no control named &#x27;colour&#x27;"
    assert len(routed.chat_bodies()) == 1


def test_groq_ui_without_a_widget_frontend_reruns_the_last_prompt_in_plain_text(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell_magic("groq", "-m alpha -t 0.6", "First question.")
    before = ip._groq_magics.session.store.current.to_json()
    result = ip.run_line_magic("groq", "ui")
    assert result.text == "answer: model=alpha temperature=0.6"
    assert routed.chat_bodies()[-1]["messages"] == [{"role": "user", "content": "First question."}]
    assert "%%groq -m alpha --temperature 0.6\nFirst question." in capsys.readouterr().out
    assert ip._groq_magics.session.store.current.to_json() == before
