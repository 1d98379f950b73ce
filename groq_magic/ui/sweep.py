"""``groq_magic.sweep``: the engine behind ``--compare``, callable from code, with no display.

    import groq_magic
    df = groq_magic.sweep(["Name a fruit.", "Name a city."],
                          model=["llama-3.1-8b-instant", "llama-3.3-70b-versatile"],
                          temperature=[0, 1], max_tokens=20, seed=1)

Each varying option takes one value or a list; every combination runs for every
prompt (``repeat`` times, with distinct seeds), concurrently on the background
loop, with the same shared 429 backoff as a compare. The result is the same
table as ``%%groq --compare`` returns (plus a ``prompt`` column when a list of
prompts was given): a pandas DataFrame, or a list of dicts without pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic.chat.conversation import Conversation
from groq_magic.chat.errors import OptionsError
from groq_magic.chat.options import ChatOptions
from groq_magic.client import AsyncGroq
from groq_magic.knobs import GRID_FIELDS
from groq_magic.ui.drive import drive
from groq_magic.ui.grid import MAX_RUNS, expand_grid
from groq_magic.ui.runner import (
    DEFAULT_CONCURRENCY,
    GridRunner,
    RunSpec,
    SharedBackoff,
    concurrency_for,
    summary_table,
)

if TYPE_CHECKING:
    from groq_magic.session import GroqSession

__all__ = ["sweep"]


def _kernel_session() -> Any:
    """The loaded extension's session (its key, pool and %config defaults), or None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    magics = getattr(shell, "_groq_magics", None) if shell is not None else None
    return magics.session if magics is not None else None


def _resolve(client: Any) -> tuple[GroqSession, AsyncGroq]:
    """The session that prepares the runs and the async client that sends them.

    ``client`` is None (the kernel's session when the extension is loaded, else a
    fresh one: ``GROQ_API_KEY`` or the embedded model), a ``GroqSession``, a
    ``Backend``, or an ``AsyncGroq`` (sent to as is; prepared with plain defaults).
    """
    from groq_magic.backend import Backend
    from groq_magic.session import GroqSession

    if isinstance(client, AsyncGroq):
        # A backend for that URL: defaults as for any server but the local model.
        return GroqSession(Backend(base_url=lambda: str(client.base_url))), client
    if isinstance(client, GroqSession):
        return client, client.backend.async_client()
    if isinstance(client, Backend):
        return GroqSession(client), client.async_client()
    if client is not None:
        raise TypeError(
            "client must be an AsyncGroq, a Backend, a GroqSession or None"
            f" (got {type(client).__name__})"
        )
    session = _kernel_session() or GroqSession(Backend())
    return session, session.backend.async_client()


def _prompts(prompt: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(prompt, str):
        return [prompt], False
    prompts = [str(p) for p in prompt]  # a pandas Series or any sequence
    if not prompts:
        raise OptionsError("sweep needs at least one prompt (got an empty list)", option="prompt")
    return prompts, True


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


def sweep(
    prompt: str | Sequence[str],
    *,
    repeat: int = 1,
    concurrency: int = DEFAULT_CONCURRENCY,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    schema: object | None = None,
    max_runs: int = MAX_RUNS,
    backoff: SharedBackoff | None = None,
    **options: Any,
) -> Any:
    """Run ``prompt`` (or each prompt of a list) over every combination of the options.

    ``options`` are the ``%%groq`` knobs by name (``model``, ``temperature``,
    ``top_p``, ``max_tokens``, ``seed``, ``system``, ``stream``, ``json_mode``...);
    those a compare can vary (``model``, ``temperature``, ``top_p``, ``max_tokens``,
    ``seed``) take one value or a list of values. ``repeat`` runs each combination
    that many times with seeds ``seed + i`` (or ``0..repeat-1``). ``schema`` is a
    pydantic model class or a JSON-schema dict (or a name in ``namespace``): every
    answer is asked for and validated against it. ``client`` is an
    ``AsyncGroq``, a ``Backend``, a ``GroqSession``, or None for the kernel's
    session when ``%load_ext groq_magic`` ran (its key, pool and ``%config``
    defaults; else a fresh one: ``GROQ_API_KEY`` or the embedded local model).
    ``namespace`` fills ``{name}`` references in the prompts; without it prompts
    are sent as written. Each prompt is asked alone (no chat history). Every run
    goes through the same preparation as a cell, so bad input raises one
    :class:`~groq_magic.chat.ChatError` line before anything is sent; more than
    ``max_runs`` runs is bad input. Returns a DataFrame (list of dicts without
    pandas) with one row per run.
    """
    prompts, many = _prompts(prompt)
    singles, remembered = _schema_option(schema)
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
    base = ChatOptions.parse(**singles)
    runs = expand_grid(base, grid, repeat, prompts=len(prompts), max_runs=max_runs)
    session, async_client = _resolve(client)
    scratch = Conversation(name="sweep")  # each prompt is asked alone
    # The one road for every run, before anything is sent: defaults, key check...
    specs = [
        RunSpec(
            i * len(runs) + j,
            session.prepare(run, text, namespace, conversation=scratch, schema=remembered),
        )
        for i, text in enumerate(prompts)
        for j, run in enumerate(runs)
    ]
    runner = GridRunner(
        specs,
        async_client,
        concurrency=concurrency_for(session.backend, concurrency),
        backoff=backoff or SharedBackoff(),
    )
    records, _ = drive(runner)
    return summary_table(records, with_prompt=many)
