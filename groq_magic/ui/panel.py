"""``%%groq --ui`` / ``%groq ui``: the answer with controls that re-run the prompt.

Layout (an ipywidgets ``VBox``, left to :meth:`ParameterPanel.widget`): model
dropdown (from the server's model list), temperature / top_p / max tokens
sliders and a seed box, system prompt, JSON toggle, stop sequences, Run and
Keep buttons, a one-line message, the answer area and a "copy as cell" text.

- **Bounds from one place.** Slider ``min``/``max`` are read from
  :meth:`ChatOptions.bounds <groq_magic.chat.ChatOptions.bounds>`; nothing here
  repeats a bound. The seed has no bounds in the options model, so it is an
  integer box rather than a slider with invented ends.
- **Unset stays unset.** A slider rests at the server's default (the knob
  table's ``Slider.rest``) and its value is sent only once it was set: by the cell's
  flags or by the user moving it. The copy-as-cell line says the same.
- **Out of range from code.** ipywidgets clamps ``slider.value = 5`` silently to
  ``max``. The panel's sliders refuse such a value instead: the slider keeps its
  value, nothing runs, and one line (the options model's own message, e.g.
  ``--temperature must be between 0 and 2 (got 5.0)``) is shown in the panel
  and printed where the code ran.
- **Debounced re-runs.** Any change schedules a run ``DEBOUNCE`` seconds later,
  replacing a pending one. The scheduler is the kernel's running asyncio loop
  (``call_later``: the callback then runs in the main thread between messages);
  tests inject their own.
- **History.** Each run talks to a scratch copy of the chat (so runs never pile
  up); **Keep** records the shown run's turn in the real chat, once. For
  ``%groq ui`` (the last prompt again), keeping replaces that last turn.
- **Streaming.** Runs use the same :func:`~groq_magic.chat.engine.run_turn` as a
  cell, with a sink that sets the answer ``Output`` widget's ``outputs``
  directly (throttled), so the answer is Markdown and needs no capture context.

- **State, view, panel.** What the controls hold, what a run would send and the
  copy-as-cell text are a plain :class:`~groq_magic.ui.panel_state.PanelState`
  (no widgets: tested on its own); :class:`~groq_magic.ui.panel_view.PanelView`
  builds the widgets from it and reports changes; :class:`ParameterPanel` ties the
  two to the session: it runs, debounces and keeps.

Without a widget frontend (terminal IPython, nbconvert) :func:`show_panel` runs
the prompt once as plain text, records nothing and prints the cell that
reproduces the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from groq_magic._text import one_line
from groq_magic.chat.conversation import Conversation, Turn
from groq_magic.chat.engine import TurnError, run_turn
from groq_magic.chat.errors import ChatError, EmptyConversationError, OptionsError
from groq_magic.chat.line import cell_line
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.prepare import PreparedTurn, options_again
from groq_magic.chat.result import ChatResult
from groq_magic.client import GroqError
from groq_magic.render import is_live_kernel
from groq_magic.render.notebook import DisplayFunction
from groq_magic.session import GroqSession
from groq_magic.ui.answer import AnswerSink
from groq_magic.ui.panel_state import PanelState, model_choices, out_of_range
from groq_magic.ui.panel_view import PanelView
from groq_magic.ui.schedule import DEBOUNCE, Cancellable, Scheduler, kernel_scheduler

__all__ = [
    "DEBOUNCE",
    "AnswerSink",
    "ParameterPanel",
    "Scheduler",
    "cell_line",
    "kernel_scheduler",
    "show_panel",
]


def _view_widget(name: str) -> Any:
    """A read-only attribute of the panel that is the view's widget ``name``."""
    return property(lambda self: getattr(self.view, name), doc=f"The view's ``{name}`` widget.")


class ParameterPanel:
    """The controls, the answer area and the logic that runs the prompt (see module docstring).

    What the controls hold is :attr:`state` (a :class:`PanelState`, no widgets);
    the widgets are :attr:`view` (a :class:`PanelView`). ``client`` is a sync
    ``Groq`` (default: the session backend's); ``scheduler`` defaults to the
    kernel's loop; ``models`` skips the server's model list.
    """

    model = _view_widget("model")
    sliders = _view_widget("sliders")
    seed = _view_widget("seed")
    system = _view_widget("system")
    json_mode = _view_widget("json_mode")
    stop = _view_widget("stop")
    run_button = _view_widget("run_button")
    keep_button = _view_widget("keep_button")
    message = _view_widget("message")
    answer = _view_widget("answer")
    copy = _view_widget("copy")

    def __init__(
        self,
        session: GroqSession,
        options: ChatOptions,
        template: str,
        namespace: Mapping[str, Any],
        *,
        replaces: Turn | None = None,
        scheduler: Scheduler | None = None,
        models: list[str] | None = None,
        client: Any = None,
        debounce: float = DEBOUNCE,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.session = session
        self.namespace = namespace
        # A recorded turn's prompt (``%groq ui``) is already rendered; its schema is reused.
        self.rendered = replaces is not None
        self.schema = replaces.schema_object if replaces is not None else None
        self.replaces = replaces
        self.template = template
        self._chat = options.chat
        # The first preparation checks everything (template, key, schema) before any widget;
        # the controls start from its options, configured defaults included.
        first = self.prepare(options)
        self.state = PanelState.start(options, first.options, first.model, template)
        self.scheduler: Scheduler = scheduler or kernel_scheduler
        self.debounce = debounce
        self.echo = echo
        self._client = client
        self._pending: Cancellable | None = None
        self._quiet = False  # True while code sets controls: one run after, not one per control
        self._refused: list[str] = []
        self.kept: Turn | None = None
        self.result: ChatResult | None = None
        self._shown_turn: Turn | None = None
        # The shown run's turn and result when it was a --cache replay (stored at Keep).
        self._shown_replay: tuple[PreparedTurn, ChatResult] | None = None
        names, note = self._model_names(models, first.model)
        self.view = PanelView(self.state, names, note, self._out_of_range)
        self.view.wire(self._changed, self.run, self.keep)
        self.update_copy()

    # -- building -----------------------------------------------------------------------

    def _model_names(self, given: list[str] | None, current: str) -> tuple[list[str], str]:
        note = ""
        if given is None:
            try:
                given = sorted(m.id for m in self._sync_client().models.list().data)
            except GroqError as exc:
                given = []
                note = f"model list unavailable ({' '.join(str(exc).split())}): only {current}"
        return model_choices(given, current), note

    def controls(self) -> list[Any]:
        """Every control whose change re-runs the prompt."""
        return list(self.view.controls().values())

    @property
    def widget(self) -> Any:
        """The whole panel as one ``VBox`` (built once)."""
        return self.view.widget

    def plain_text(self) -> str:
        """The answer on screen, its status line and the copy-as-cell text, as plain text."""
        return self.view.plain_text()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        show: Any = display  # IPython's display is untyped
        show(self.widget)

    # -- state ----------------------------------------------------------------------------

    def _sync_client(self) -> Any:
        return self._client if self._client is not None else self.session.backend.client()

    def options(self) -> ChatOptions:
        """The options the controls describe now (one OptionsError line if they are invalid)."""
        return self.state.options()

    def update_copy(self) -> None:
        """Refresh the copy-as-cell text from the controls."""
        try:
            self.copy.value = self.state.cell_text()
        except OptionsError as exc:
            self.say(str(exc))

    def say(self, line: str) -> None:
        """Show one line in the panel's message area."""
        self.view.say(line)

    def _out_of_range(self, name: str, value: Any) -> None:
        line = out_of_range(name, value)
        self._refused.append(name)
        self.say(line)
        self.echo(line)

    def _changed(self, name: str, value: Any) -> None:
        self.state.change(name, value)
        if self._quiet:
            return
        self.update_copy()
        self.schedule()

    def set(self, **values: Any) -> ChatResult | None:
        """Set controls from code (``panel.set(temperature=0.5, seed=3)``) and run once, now.

        Names are the option names (``model``, ``temperature``, ``top_p``,
        ``max_tokens``, ``seed``, ``system``, ``json_mode``, ``stop``). A value
        out of a slider's bounds is refused with one line and nothing runs.
        """
        unknown = self.state.unknown(values)
        if unknown:
            self.say(f"the panel has no control named {unknown[0]!r}")
            return None
        controls = self.view.controls()
        self._quiet = True
        self._refused = []
        try:
            for name, value in values.items():
                controls[name].value = value
                if name not in self._refused:
                    # Set from code counts as set, even to the value a slider rested at.
                    self.state.change(name, controls[name].value)
        finally:
            self._quiet = False
        if self._refused:
            return None
        self.update_copy()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        return self.run()

    def schedule(self) -> None:
        """Run after ``debounce`` seconds of quiet (a pending run is replaced)."""
        if self._pending is not None:
            self._pending.cancel()
        self._pending = self.scheduler(self.debounce, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self.run()

    # -- running ----------------------------------------------------------------------------

    def conversation(self) -> Conversation:
        """The real chat this panel belongs to."""
        return self.session.conversation(self._chat)

    def prepare(self, options: ChatOptions) -> PreparedTurn:
        """The one road for this panel's prompt with ``options`` (checked the same way)."""
        return self.session.prepare(
            options,
            self.template,
            self.namespace,
            conversation=self.conversation(),
            rendered=self.rendered,
            message=self.replaces.user_message if self.replaces else None,
            replaces=self.replaces.id if self.replaces else None,
            schema=self.schema,
        )

    def run(self) -> ChatResult | None:
        """Run the prompt with the current settings into the answer area (not recorded)."""
        self.keep_button.disabled = True
        self._shown_turn = self._shown_replay = None
        self.say("")
        try:
            prep = self.prepare(self.options())
            result = run_turn(prep, self._sync_client(), AnswerSink(self.answer), record=False)
        except TurnError as exc:
            self.say(str(exc))
            return None
        except (ChatError, GroqError) as exc:
            self.say(one_line(exc))
            return None
        self.result = result
        if prep.options.history and result.turn is not None:
            self._shown_turn = result.turn
            self._shown_replay = (prep, result) if result.cached else None
            self.keep_button.disabled = False
        if result.status != "complete":
            self.say(f"{result.status}: {result.error or 'the partial answer is shown'}")
        return result

    def keep(self) -> Turn | None:
        """Record the shown run's turn in the real chat (once per run)."""
        turn = self._shown_turn
        if turn is None:
            self.say("nothing to keep: run the prompt first")
            return None
        conversation = self.conversation()
        replaces = self.replaces.id if self.replaces else None
        conversation.record(turn, replaces=replaces)
        # The run was stored outside history; now the store says it entered the chat,
        # so a restore after a restart brings it back.
        self.session.log.kept(conversation.name, turn.id, replaces, replayed=self._shown_replay)
        self.replaces = turn  # keeping again after another run replaces this one
        self.kept, self._shown_turn = turn, None
        self.keep_button.disabled = True
        self.say(f"kept: chat {conversation.name!r} now has {len(conversation)} turns")
        return turn


def show_panel(
    session: GroqSession,
    options: ChatOptions,
    prompt: str | None,
    namespace: Mapping[str, Any],
    *,
    shell: Any,
    scheduler: Scheduler | None = None,
    display: DisplayFunction | None = None,
) -> Any:
    """Show the panel and run the prompt once; ``prompt=None`` re-runs the chat's last prompt.

    Returns the :class:`ParameterPanel` (marked as already shown), or, without a
    widget frontend, the :class:`ChatResult` of one plain-text run.
    """
    replaces: Turn | None = None
    if prompt is None:
        conversation = session.conversation(options.chat)
        replaces = conversation.last()
        if replaces is None:
            raise EmptyConversationError(
                f"chat {conversation.name!r} has no turns yet: %groq ui re-runs the last"
                " prompt; use %%groq --ui with a prompt instead"
            )
        prompt = replaces.prompt
        # The last turn's settings, with whatever the %groq ui line itself set on top.
        options = options_again(replaces, options.model_dump(exclude_unset=True))
    if not is_live_kernel(shell):
        return _plain_run(session, options, prompt, namespace, replaces)
    panel = ParameterPanel(
        session, options, prompt, namespace, replaces=replaces, scheduler=scheduler
    )
    if display is None:
        from IPython.display import display as ipython_display

        display = ipython_display
    # The widget view, with a plain-text fallback that holds the answer: frontends
    # without the widget manager (nbconvert's HTML, GitHub) show that instead of a repr.
    bundle = dict(panel.widget._repr_mimebundle_() or {})
    bundle["text/plain"] = "(the sliders panel: open the notebook in JupyterLab or VS Code)"
    handle = display(bundle, raw=True, display_id=True)
    panel.run()
    if handle is not None:
        bundle["text/plain"] = panel.plain_text()
        handle.update(bundle, raw=True)
    from groq_magic.render import already_shown

    return already_shown(panel, shell)


def _plain_run(
    session: GroqSession,
    options: ChatOptions,
    template: str,
    namespace: Mapping[str, Any],
    replaces: Turn | None,
) -> ChatResult:
    from groq_magic.render import PlainTextSink

    conversation = session.conversation(options.chat)
    prep = session.prepare(
        options,
        template,
        namespace,
        conversation=conversation,
        rendered=replaces is not None,
        message=replaces.user_message if replaces else None,
        replaces=replaces.id if replaces else None,
        schema=replaces.schema_object if replaces else None,
    )
    print("(no widget frontend here: ran once with these settings, not recorded in history)")
    result = run_turn(prep, session.backend.client(), PlainTextSink(), record=False)
    print(f"the cell for these settings:\n{cell_line(options)}\n{template}")
    return result
