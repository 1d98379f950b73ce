"""``groq_magic.sweep``: the engine behind ``--compare``, callable from code, at any size.

    import groq_magic
    df = groq_magic.sweep(["Name a fruit.", "Name a city."],
                          model=["llama-3.1-8b-instant", "llama-3.3-70b-versatile"],
                          temperature=[0, 1], max_tokens=20, seed=1)

Each varying option takes one value or a list; every combination runs for every
prompt (``repeat`` times, with distinct seeds), concurrently on the background
loop, with the same shared 429 backoff as a compare. The result is the same
table as ``%%groq --compare`` returns (plus a ``prompt`` column when a list of
prompts was given): a pandas DataFrame, or a list of dicts without pandas.

There is no cap on the runs (a compare keeps one: it shows a pane per run). A
sweep shows no pane per row: past :data:`PROGRESS_AFTER` runs (or with
``progress=True``) it shows one progress bar (:class:`~groq_magic.render.progress.Progress`:
widgets in a live notebook, text elsewhere) with done / failed / running,
tokens, cost so far and time left. Each run keeps only its table row unless
``keep_results=True`` (then a ``result`` column holds the ``ChatResult``s), and a
run's request is prepared when it starts (every row was prepared once before
anything was sent, to check it), so 10,000 rows cost 10,000 rows of memory, not
10,000 answers and requests.
The stop button ends a sweep within a second and returns the table of what
finished; the rest are marked ``interrupted``. With ``cache=True`` (the
``--cache`` knob) a re-run replays every answer the session's log already holds
and sends only the rest.

``checks=`` (:mod:`groq_magic.checks`: ``"json"``, ``"max_words:50"``, any
function of the result) are resolved before anything is sent; each becomes a
column, and their pass rate per model and parameter set comes back with the
table as ``table.attrs["checks"]``. ``columns=`` gives each prompt values of its
own (say the expected answers) that go into its rows, where ``equals:COLUMN``
reads them.

Requests are paced by the server's rate limits (the kernel's one
:class:`~groq_magic.pacing.RateLimitPacer`, shared by every sweep and compare): each waits
until the limits say it will be accepted, instead of bouncing off 429s; a spent
daily limit fails the remaining rows at once with a line that points to
``groq_magic.batch``. ``pacer=False`` turns it off (then a 429 pauses every run:
the shared backoff), a ``RateLimitPacer`` of your own sets ``max_concurrency``
or a requests-per-minute cap. The embedded model is never paced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from groq_magic.chat.conversation import Conversation
from groq_magic.chat.errors import OptionsError
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.checks import Check, check_summary, resolve_checks
from groq_magic.client import AsyncGroq
from groq_magic.knobs import GRID_FIELDS
from groq_magic.sweeps.drive import drive
from groq_magic.sweeps.grid import expand_grid
from groq_magic.sweeps.runner import (
    DEFAULT_CONCURRENCY,
    TABLE_COLUMNS,
    GridRunner,
    RunRecord,
    RunSpec,
    SharedBackoff,
    choose_pacer,
    concurrency_for,
    summary_table,
)

if TYPE_CHECKING:
    from groq_magic.chat.images import LoadedImage
    from groq_magic.chat.tools import ToolBox
    from groq_magic.pacing import RateLimitPacer
    from groq_magic.session import GroqSession

__all__ = [
    "KEEP_PREPARED",
    "PROGRESS_AFTER",
    "SweepPlan",
    "plan_sweep",
    "run_planned",
    "sweep",
    "with_check_summary",
]

PROGRESS_AFTER = 10
"""A sweep of more runs than this shows a progress bar unless told otherwise."""

KEEP_PREPARED = 64
"""A sweep of at most this many runs keeps each run's prepared turn from the check
before sending; a larger one prepares each again as its run starts (memory flat in
the rows: a prepared turn holds its request, images' data URLs included)."""


def _resolve(client: Any) -> tuple[GroqSession, AsyncGroq]:
    """The session that prepares the runs (:func:`groq_magic.session.find_session`) and
    the async client that sends them."""
    from groq_magic.session import find_session

    session = find_session(client)
    return session, session.backend.async_client()


def _prompts(prompt: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(prompt, str):
        return [prompt], False
    prompts = [str(p) for p in prompt]  # a pandas Series or any sequence
    if not prompts:
        raise OptionsError("sweep needs at least one prompt (got an empty list)", option="prompt")
    return prompts, True


def _prompt_columns(columns: object, prompts: int) -> dict[str, list[Any]]:
    """``columns=`` (a DataFrame, or a mapping of name -> one value per prompt) as lists."""
    if columns is None:
        return {}
    to_dict = getattr(columns, "to_dict", None)
    if callable(to_dict) and not isinstance(columns, Mapping):
        columns = to_dict("list")  # a DataFrame
    if not isinstance(columns, Mapping):
        raise OptionsError(
            "columns must be a DataFrame or a dict of name -> one value per prompt"
            f" (got {type(columns).__name__})",
            option="columns",
        )
    lists: dict[str, list[Any]] = {}
    for name, values in columns.items():
        key = str(name)
        if key == "prompt" or key in TABLE_COLUMNS:
            raise OptionsError(f"columns: {key!r} is a column of the table already", "columns")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise OptionsError(f"columns: {key!r} needs one value per prompt", option="columns")
        lists[key] = list(values)
        if len(lists[key]) != prompts:
            raise OptionsError(
                f"columns: {key!r} has {len(lists[key])} values for {prompts} prompts",
                option="columns",
            )
    return lists


def _schema_option(schema: object | None) -> tuple[dict[str, Any], object | None]:
    """``schema=City`` (a model class or a schema dict) as the options that ask for it."""
    if schema is None:
        return {}, None
    if isinstance(schema, str):
        return {"schema_name": schema}, None  # a name, looked up in ``namespace``
    name = getattr(schema, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        name = "schema"
    return {"schema_name": name}, schema


def _tools_option(tools: object) -> tuple[dict[str, Any], ToolBox | None]:
    """``tools=`` as the options that offer them: names (looked up in ``namespace``),
    functions themselves (described here, so no namespace is needed), or both."""
    if tools is None or isinstance(tools, str):
        return ({} if tools is None else {"tools": tools}), None
    items: list[Any] = list(tools) if isinstance(tools, Iterable) else [tools]
    if all(isinstance(item, str) for item in items):
        return {"tools": items}, None
    from groq_magic.chat.tools import ToolBox

    box = ToolBox()
    names = [item if isinstance(item, str) else box.add(item).name for item in items]
    return {"tools": names}, box


@dataclass
class SweepPlan:
    """A sweep's runs, each prepared on the one road, and where they go."""

    session: GroqSession
    client: AsyncGroq
    specs: list[RunSpec]
    many: bool
    columns: list[str]


def plan_sweep(
    prompt: str | Sequence[str],
    *,
    repeat: int = 1,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    schema: object | None = None,
    max_runs: int | None = None,
    columns: object = None,
    **options: Any,
) -> SweepPlan:
    """Every run of a sweep prepared (one ChatError line for bad input; nothing sent).

    The arguments are :func:`sweep`'s; ``groq_magic.batch`` plans with it too.
    """
    prompts, many = _prompts(prompt)
    extra = _prompt_columns(columns, len(prompts))
    singles, remembered = _schema_option(schema)
    offered, toolbox = _tools_option(options.pop("tools", None))
    singles.update(offered)
    base, grid = _split_grid(singles, options)
    session, async_client = _resolve(client)
    runs = expand_grid(
        base,
        grid,
        repeat,
        prompts=len(prompts),
        max_runs=max_runs,
        base_seed=session.defaults().options.get("seed"),
    )
    prepare = _preparer(session, prompts, runs, namespace, remembered, toolbox)
    small = len(prompts) * len(runs) <= KEEP_PREPARED
    specs = []
    for i in range(len(prompts)):
        row_columns = {name: values[i] for name, values in extra.items()} if extra else None
        for j in range(len(runs)):
            # The one road for every run, before anything is sent: defaults, key check,
            # rendering, schema, images... so bad input is one line and nothing is sent.
            prep = prepare(i, j)
            index = i * len(runs) + j
            if small:
                spec = RunSpec.of(index, prep, row_columns)
            else:
                # Dropped now and prepared again when the run starts: a large sweep's
                # memory holds rows, not every request (see bench/sweep_scale.py).
                again = functools.partial(prepare, i, j)
                spec = RunSpec(index, prep.prompt, prep.model, prep.options, again, row_columns)
            specs.append(spec)
    return SweepPlan(session, async_client, specs, many, list(extra))


def _split_grid(
    singles: dict[str, Any], options: Mapping[str, Any]
) -> tuple[ChatOptions, dict[str, list[Any]]]:
    """The options every run shares, and the lists of the knobs a grid varies."""
    grid: dict[str, list[Any]] = {}
    for name, value in options.items():
        if value is None:
            continue  # unset: the configured default applies
        # A string is one value, not a list of characters; so is any non-iterable
        # (numpy scalars included). Lists, tuples, ranges and Series are lists.
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            singles[name] = value
        elif name in GRID_FIELDS:
            grid[name] = list(value)
        else:
            singles[name] = value  # e.g. stop=[...]: one value that is a list
    return ChatOptions.parse(**singles), grid


def _preparer(
    session: GroqSession,
    prompts: list[str],
    runs: list[ChatOptions],
    namespace: Mapping[str, Any] | None,
    schema: object | None,
    toolbox: ToolBox | None,
) -> Callable[[int, int], PreparedTurn]:
    """``prepare(i, j)``: prompt ``i`` with run ``j``'s options, on the one road.

    Each prompt is asked alone; an image URL is fetched and a ``--context`` built once
    for the whole sweep, however often a run is prepared again.
    """
    from groq_magic.chat.context import contexts_built_once
    from groq_magic.chat.images import urls_read_once  # Pillow and httpx stay unloaded

    scratch = Conversation(name="sweep")
    fetched: dict[tuple[Any, ...], LoadedImage] = {}
    built: dict[tuple[Any, ...], Any] = {}

    def prepare(i: int, j: int) -> PreparedTurn:
        with urls_read_once(fetched), contexts_built_once(built):
            return session.prepare(
                runs[j], prompts[i], namespace, conversation=scratch, schema=schema,
                toolbox=toolbox,
            )  # fmt: skip

    return prepare


def sweep(
    prompt: str | Sequence[str],
    *,
    repeat: int = 1,
    concurrency: int = DEFAULT_CONCURRENCY,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    schema: object | None = None,
    max_runs: int | None = None,
    backoff: SharedBackoff | None = None,
    progress: bool | None = None,
    keep_results: bool = False,
    checks: object = None,
    columns: object = None,
    pacer: RateLimitPacer | bool | None = None,
    **options: Any,
) -> Any:
    """Run ``prompt`` (or each prompt of a list) over every combination of the options.

    ``options`` are the ``%%groq`` knobs by name (the grid's take a list); ``repeat``
    runs each combination that many times with seeds ``seed + i``.
    ``schema`` (a pydantic model, a JSON-schema dict or a name in ``namespace``) asks
    for and validates every answer; ``tools`` are names in ``namespace`` or functions.
    ``client`` is an ``AsyncGroq``/``Groq``, a ``Backend``, a ``GroqSession`` or None
    (:func:`groq_magic.session.find_session`). ``namespace`` fills ``{name}`` references;
    each prompt is asked alone. Every run is prepared on the one road first, so bad
    input is one ChatError line and nothing is sent; ``max_runs`` caps the runs.
    ``progress`` shows the bar (None: past :data:`PROGRESS_AFTER` runs);
    ``keep_results`` adds a ``result`` column; ``checks`` add a column each and
    ``table.attrs["checks"]``; ``columns`` (one value per prompt) go into the rows;
    ``pacer`` is None (the kernel's), False or a ``RateLimitPacer``. Returns a DataFrame
    (a list of dicts without pandas), one row per run (more in the module docstring)."""
    resolved = resolve_checks(checks, reserved=(*TABLE_COLUMNS, "prompt", "result"))
    plan = plan_sweep(
        prompt,
        repeat=repeat,
        client=client,
        namespace=namespace,
        schema=schema,
        max_runs=max_runs,
        columns=columns,
        **options,
    )
    records, _ = run_planned(
        plan,
        checks=resolved,
        concurrency=concurrency,
        backoff=backoff,
        keep_results=keep_results,
        progress=progress,
        pacer=pacer,
    )
    table = summary_table(
        records,
        with_prompt=plan.many,
        with_results=keep_results,
        columns=plan.columns,
        checks=resolved,
    )
    return with_check_summary(table, resolved)


def run_planned(
    plan: SweepPlan,
    *,
    checks: Sequence[Check] = (),
    concurrency: int = DEFAULT_CONCURRENCY,
    backoff: SharedBackoff | None = None,
    keep_results: bool = False,
    progress: bool | None = None,
    pacer: RateLimitPacer | bool | None = None,
    label: str | None = None,
) -> tuple[list[RunRecord], bool]:
    """Run a planned sweep's runs (paced, concurrent, checked); its records and whether the
    stop button ended it. The arguments are :func:`sweep`'s; ``label`` names the progress
    bar (``groq_magic.evaluate`` shows one for the answers, one per judge)."""
    runner = GridRunner(
        plan.specs,
        plan.client,
        concurrency=concurrency_for(plan.session.backend, concurrency),
        backoff=backoff or SharedBackoff(),
        keep_results=keep_results,
        stream_events=False,
        checks=checks,
        pacer=choose_pacer(pacer, plan.session, plan.client),
    )
    shown = len(plan.specs) > PROGRESS_AFTER if progress is None else progress
    if not shown:
        return drive(runner)
    return _with_progress(runner, len(plan.specs), label)


def with_check_summary(table: Any, checks: list[Check]) -> Any:
    """``table`` with its checks' pass rates as ``table.attrs["checks"]`` (a DataFrame only)."""
    if checks and hasattr(table, "attrs"):
        table.attrs["checks"] = check_summary(table, checks)
    return table


def _with_progress(
    runner: GridRunner, total: int, label: str | None = None
) -> tuple[list[RunRecord], bool]:
    """Drive ``runner`` under one progress bar (widgets in a live notebook, else text)."""
    from groq_magic.render import in_live_kernel
    from groq_magic.render.progress import Progress

    bar = Progress(total, live=in_live_kernel(), label=label)

    def on_event(index: int, kind: str, payload: Any) -> None:
        if kind == "start":
            bar.started()
        elif kind == "retry":
            bar.retrying()
        elif kind == "done" and payload.status != "interrupted":
            bar.finished(payload.status == "complete", payload.tokens, payload.cost)

    records, interrupted = drive(runner, on_event=on_event, tick=bar.tick)
    if interrupted:
        stopped = sum(r.status == "interrupted" for r in records)
        bar.update(running=0)
        bar.close(f"interrupted: {stopped:,} runs not finished (marked in the table)")
    else:
        bar.close()
    return records, interrupted
