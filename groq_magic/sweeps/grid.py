"""Expanding a compare grid into runs, with every check made before anything is sent.

``expand_grid(options, grid, repeat)`` is the one place that turns list-valued
flags (``--compare a,b``, ``-t 0,0.7,1.2``, ``--repeat 3``) into a list of
:class:`~groq_magic.chat.ChatOptions`, one per run. Each value is validated by
``ChatOptions.parse`` (so bounds come from the options model, never from a
literal here) and every problem is one :class:`~groq_magic.chat.OptionsError`
line: an empty list, a value out of range, a compare over :data:`MAX_RUNS`
(``groq_magic.sweep`` passes ``max_runs=None``: a sweep has no cap).

``--repeat N`` gives each repetition its own seed (``base seed + i``, or ``i``
when no seed was set), so repeats show sampling variance rather than one
cached answer N times.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from groq_magic.chat.errors import OptionsError
from groq_magic.chat.options import ChatOptions
from groq_magic.knobs import GRID_FIELDS, KNOBS

__all__ = ["GRID_FIELDS", "MAX_RUNS", "expand_grid", "grid_size"]

MAX_RUNS = 64
"""The most runs one ``--compare`` may start: each run is a pane on screen (a sweep has no cap)."""


def _flag(name: str) -> str:
    knob = KNOBS.get(name)
    if knob is None:
        return name
    return knob.list_flag or knob.flag


def grid_size(grid: Mapping[str, Sequence[Any]], repeat: int = 1, prompts: int = 1) -> int:
    """How many runs the grid makes: the product of its list lengths, times repeats and prompts."""
    size = prompts * repeat
    for values in grid.values():
        size *= len(values)
    return size


def _check_shape(
    grid: Mapping[str, Sequence[Any]], repeat: int, prompts: int, max_runs: int | None
) -> None:
    unknown = [name for name in grid if name not in GRID_FIELDS]
    if unknown:
        allowed = ", ".join(_flag(n) for n in GRID_FIELDS)
        raise OptionsError(
            f"{_flag(unknown[0])} cannot take a list of values (lists work for {allowed})",
            option=unknown[0],
        )
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise OptionsError(
                f"{_flag(name)} must be a list of values (got {values!r})", option=name
            )
        if len(values) == 0:
            raise OptionsError(
                f"{_flag(name)} needs at least one value (got an empty list)", option=name
            )
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise OptionsError(
            f"--repeat must be a whole number >= 1 (got {repeat!r})", option="--repeat"
        )
    if repeat > 1 and "seed" in grid:
        raise OptionsError(
            "--repeat gives each repetition its own seed, so it cannot be combined with a"
            " list of --seed values",
            option="--repeat",
        )
    size = grid_size(grid, repeat, prompts)
    if max_runs is not None and size > max_runs:
        parts = [f"{len(v)} {_flag(k).lstrip('-')}" for k, v in grid.items()]
        if prompts > 1:
            parts.insert(0, f"{prompts} prompts")
        if repeat > 1:
            parts.append(f"repeat {repeat}")
        shape = " x ".join(parts) or "1"
        raise OptionsError(
            f"the grid has {size} runs ({shape}); the limit is {max_runs}:"
            " use fewer values (groq_magic.sweep runs a grid of any size, without panes)",
            option="grid",
        )


def expand_grid(
    options: ChatOptions,
    grid: Mapping[str, Sequence[Any]],
    repeat: int = 1,
    *,
    prompts: int = 1,
    max_runs: int | None = MAX_RUNS,
    base_seed: int | None = None,
) -> list[ChatOptions]:
    """One validated ``ChatOptions`` per run, for every combination of ``grid``, ``repeat`` times.

    ``options`` holds the single-valued settings; each ``grid`` entry (a field
    of :data:`GRID_FIELDS` -> its values) overrides them in turn. Runs are
    ordered like nested loops over the grid in :data:`GRID_FIELDS` order, with
    the repeats innermost. ``prompts`` only counts towards ``max_runs`` (a sweep
    runs the grid once per prompt; None: no limit). Raises one
    :class:`OptionsError` line for bad input, before anything is sent.
    """
    _check_shape(grid, repeat, prompts, max_runs)
    names = [name for name in GRID_FIELDS if name in grid]
    # Only what was set: what the cell left unset still takes the configured default.
    base = options.model_dump(exclude_unset=True)
    runs: list[ChatOptions] = []
    for values in itertools.product(*(grid[name] for name in names)):
        changes = dict(zip(names, values, strict=True))
        for i in range(repeat):
            data = {**base, **changes}
            if repeat > 1:
                start = options.seed if options.seed is not None else base_seed
                data["seed"] = (start or 0) + i
            runs.append(ChatOptions.parse(**data))
    return runs
