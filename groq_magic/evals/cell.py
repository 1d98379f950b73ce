"""``%%groq --data NAME``: the cell's template over the DataFrame ``NAME``, as an evaluation.

    %%groq --data cases -m llama-3.1-8b-instant,llama-3.3-70b-versatile -t 0,0.7
           --check equals:capital --judge "The answer names {capital}" -o run
    What is the capital of {country}? Answer with the city only.

The magic parses the line as for any cell; :func:`evaluate_cell` turns its flags
into :func:`~groq_magic.evals.pipeline.evaluate`'s arguments: ``-m a,b`` (or
``--compare a,b``) and comma lists of ``-t``/``--top-p``/``--max-tokens``/``--seed``
vary, ``--repeat N`` repeats, ``--check`` are the checks (resolved by the magic as a
compare's are: a built-in, or a function of that name in the notebook), each
``--judge "RUBRIC"`` a judge,
``--cache`` replays, ``--schema NAME`` and ``--tools`` name notebook objects. The
run is named after ``NAME``. No IPython here: the magic passes its namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic.evals.dataset import EvalError
from groq_magic.evals.grader import judge
from groq_magic.evals.pipeline import evaluate
from groq_magic.evals.run import EvalRun

if TYPE_CHECKING:
    from groq_magic.chat.options import ChatOptions
    from groq_magic.session import GroqSession

__all__ = ["evaluate_cell"]

# Flags that mean nothing for an evaluation's rows: each case is asked alone, and the
# run (not a ChatResult) goes to -o VAR.
_NOT_OPTIONS = ("out", "chat", "history")


def evaluate_cell(
    session: GroqSession,
    options: ChatOptions,
    grid: Mapping[str, list[Any]],
    template: str,
    namespace: Mapping[str, Any],
    *,
    data: str,
    checks: Sequence[object] = (),
    judges: Sequence[str] | None = None,
    repeat: int | None = None,
) -> EvalRun:
    """Evaluate a ``%%groq --data NAME`` cell (see the module docstring)."""
    if data not in namespace:
        raise EvalError(f"--data {data}: no variable named {data!r} in the notebook")
    given = options.model_dump(exclude_unset=True)
    for name in _NOT_OPTIONS:
        given.pop(name, None)
    if "schema_name" in given:
        given["schema"] = given.pop("schema_name")  # looked up in the namespace by evaluate
    model: Any = given.pop("model", None)
    if isinstance(model, str) and "," in model:
        model = [part.strip() for part in model.split(",") if part.strip()]
    given.update(grid)  # -t 0,0.7 and --compare a,b: lists, which the evaluation varies
    model = given.pop("model", model)
    resolved = [*checks, *(judge(rubric) for rubric in judges or ())]
    return evaluate(
        template,
        namespace[data],
        model=model,
        checks=resolved,
        repeat=repeat if repeat is not None else 1,
        client=session,
        namespace=namespace,
        name=data,
        **given,
    )
