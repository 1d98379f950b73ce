"""``groq_magic.sweep``: the engine behind ``--compare``, callable from code, with no display.

    import groq_magic
    df = groq_magic.sweep(["Name a fruit.", "Name a city."],
                          model=["llama-3.1-8b-instant", "llama-3.3-70b-versatile"],
                          temperature=[0, 1], max_tokens=20, seed=1)

Each parameter takes one value or a list; every combination runs for every
prompt (``repeat`` times, with distinct seeds), concurrently on the background
loop, with the same shared 429 backoff as a compare. The result is the same
table as ``%%groq --compare`` returns (plus a ``prompt`` column when a list of
prompts was given): a pandas DataFrame, or a list of dicts without pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from groq_magic.chat.conversation import Conversation
from groq_magic.chat.engine import EmptyPromptError
from groq_magic.chat.errors import OptionsError
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.template import render_prompt
from groq_magic.client import AsyncGroq
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

__all__ = ["sweep"]

_UNSET: Any = object()


def _kernel_backend() -> Any:
    """The loaded extension's backend (so a sweep shares the kernel's key and pool), or None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    magics = getattr(shell, "_groq_magics", None) if shell is not None else None
    return magics.session.backend if magics is not None else None


def _resolve_client(client: Any) -> tuple[AsyncGroq, Any]:
    """``(async client, backend or None)`` for ``client`` = None, an AsyncGroq or a Backend."""
    if isinstance(client, AsyncGroq):
        return client, None
    if client is None:
        client = _kernel_backend()
        if client is None:
            from groq_magic.backend import Backend

            client = Backend()
    backend = getattr(client, "backend", client)  # a GroqSession holds one
    if not hasattr(backend, "async_client"):
        raise TypeError(
            f"client must be an AsyncGroq, a Backend or None (got {type(client).__name__})"
        )
    return backend.async_client(), backend


def _prompts(prompt: str | Sequence[str]) -> tuple[list[str], bool]:
    if isinstance(prompt, str):
        return [prompt], False
    prompts = [str(p) for p in prompt]  # a pandas Series or any sequence
    if not prompts:
        raise OptionsError("sweep needs at least one prompt (got an empty list)", option="prompt")
    return prompts, True


def sweep(
    prompt: str | Sequence[str],
    *,
    model: str | Sequence[str] | None = None,
    temperature: float | Sequence[float] | None = None,
    top_p: float | Sequence[float] | None = None,
    max_tokens: int | Sequence[int] | None = None,
    seed: int | Sequence[int] | None = None,
    system: str | None = None,
    repeat: int = 1,
    concurrency: int = DEFAULT_CONCURRENCY,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    max_runs: int = MAX_RUNS,
    backoff: SharedBackoff | None = None,
) -> Any:
    """Run ``prompt`` (or each prompt of a list) over every combination of the parameters.

    Each of ``model``, ``temperature``, ``top_p``, ``max_tokens`` and ``seed``
    is one value or a list of values. ``repeat`` runs each combination that many
    times with seeds ``seed + i`` (or ``0..repeat-1``). ``client`` is an
    ``AsyncGroq``, a ``Backend``, or None for the kernel's backend when
    ``%load_ext groq_magic`` ran (else a fresh ``Backend()``: ``GROQ_API_KEY``
    or the embedded local model). ``namespace`` fills ``{name}`` references in
    the prompts; without it prompts are sent as written. Each prompt is asked
    alone (no chat history). Bad input raises one
    :class:`~groq_magic.chat.OptionsError` line before anything is sent; more
    than ``max_runs`` runs is bad input. Returns a DataFrame (list of dicts
    without pandas) with one row per run.
    """
    prompts, many = _prompts(prompt)
    if namespace is not None:
        prompts = [render_prompt(p, namespace) for p in prompts]
    if any(not p.strip() for p in prompts):
        raise EmptyPromptError("sweep got an empty prompt")
    singles: dict[str, Any] = {"system": system}
    grid: dict[str, list[Any]] = {}
    given = {
        "model": model,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    for name, value in given.items():
        # A string is one value, not a list of characters; so is any non-iterable
        # (numpy scalars included). Lists, tuples, ranges and Series are lists.
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            singles[name] = value
        else:
            grid[name] = list(value)
    options = ChatOptions.parse(**singles)
    runs = expand_grid(options, grid, repeat, prompts=len(prompts), max_runs=max_runs)
    async_client, backend = _resolve_client(client)
    default_model = backend.default_model(None) if backend is not None else None
    specs = [
        RunSpec(i * len(runs) + j, text, run)
        for i, text in enumerate(prompts)
        for j, run in enumerate(runs)
    ]
    runner = GridRunner(
        specs,
        Conversation(name="sweep"),
        async_client,
        concurrency=concurrency_for(backend, concurrency),
        backoff=backoff or SharedBackoff(),
        **({"default_model": default_model} if default_model else {}),
    )
    records, _ = drive(runner)
    return summary_table(records, with_prompt=many)
