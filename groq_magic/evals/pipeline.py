"""``groq_magic.evaluate``: a prompt template over a dataset, checked, judged and stored.

    run = groq_magic.evaluate("Capital of {country}? One word.", cases,
                              model=["llama-3.1-8b-instant", "llama-3.3-70b-versatile"],
                              checks=["equals:capital", groq_magic.judge("Names {capital}")])
    run                 # pass rates, a chart, the failing rows first
    run.table, run.summary, run.id

Built on the sweep, not beside it:

1. the data is read (:mod:`~groq_magic.evals.dataset`), the template filled once per
   case and every judge's rubric checked against the columns: bad input is one
   :class:`~groq_magic.evals.dataset.EvalError` line and nothing is sent;
2. the answers: :func:`~groq_magic.sweeps.sweep.plan_sweep` prepares every row on the one
   road (``GroqSession.prepare``: defaults, key guard, schema...), every combination of
   the varying options for every case, and :func:`~groq_magic.sweeps.sweep.run_planned`
   runs them (paced, retried, replayed from the store with ``cache=True``, one
   progress bar), applying the plain checks as each row ends;
3. each judge: one request per answered row, planned and run the same way (so they
   are paced, cached, key-guarded and counted too), its verdict read into the
   judge's columns (:func:`~groq_magic.evals.grader.verdict_columns`);
4. ``via="batch"``: steps 2 and 3 go as Batch API jobs instead
   (:func:`groq_magic.batch`), each waited for, giving the same table;
5. the :class:`~groq_magic.evals.run.EvalRun` is stored in the exchange store
   (``groq_magic.runs()``, ``load_run``, ``diff``).

The stop button during the answers keeps what finished (the rest marked
``interrupted``) and skips the judges; the run is stored as interrupted, and
re-running it with ``cache=True`` sends only what is missing.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic._keys import looks_like_key
from groq_magic._text import one_line
from groq_magic.chat.template import render_prompt
from groq_magic.checks import CHECK_ERRORS, Check, resolve_checks
from groq_magic.evals.dataset import (
    Dataset,
    EvalError,
    check_references,
    fill_template,
    load_dataset,
)
from groq_magic.evals.grader import (
    JUDGE_SYSTEM,
    VERDICT_SCHEMA,
    Judge,
    judge_prompt,
    verdict_columns,
)
from groq_magic.evals.run import RESERVED_COLUMNS, EvalRun, data_column, row_dicts
from groq_magic.sweeps.runner import DEFAULT_CONCURRENCY, TABLE_COLUMNS, table_from_rows
from groq_magic.sweeps.sweep import plan_sweep, run_planned

if TYPE_CHECKING:
    from groq_magic.session import GroqSession

__all__ = ["VIAS", "evaluate"]

VIAS = ("sweep", "batch")
"""How the requests go: interactively (paced), or as Batch API jobs."""

_ANSWERED = ("complete", "incomplete")
_KEY_IN_ANSWER = "the row holds something shaped like an API key, so it was not sent to the judge"


def _table_names(dataset: Dataset) -> dict[str, str]:
    """Each data column (its name in the data -> its name in the table)."""
    return {c: data_column(c) for c in dataset.columns}


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | range):
        return [_jsonable(v) for v in value]
    return getattr(value, "__name__", None) or str(value)


def _usage(phase: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Requests, tokens and cost of one phase's rows (a cost the price table lacks is
    counted apart, never as 0)."""
    answered = [r for r in rows if r.get("status") in _ANSWERED]
    costs = [r.get("cost") for r in answered]
    return {
        "phase": phase,
        "runs": len(rows),
        "answered": len(answered),
        "prompt_tokens": sum(r.get("prompt_tokens") or 0 for r in rows),
        "completion_tokens": sum(r.get("completion_tokens") or 0 for r in rows),
        "cost": sum(c for c in costs if c is not None) if answered else 0.0,
        "unpriced": sum(c is None for c in costs),
    }


class _Evaluation:
    """One call of :func:`evaluate`, from checked input to a stored run."""

    def __init__(
        self,
        template: str,
        dataset: Dataset,
        checks: list[Check],
        *,
        namespace: Mapping[str, Any] | None,
        run_options: dict[str, Any],
    ) -> None:
        self.template = template
        self.dataset = dataset
        self.checks = checks
        self.plain = [c for c in checks if not isinstance(c, Judge)]
        self.judges = [c for c in checks if isinstance(c, Judge)]
        self.names = _table_names(dataset)
        self.outer: dict[str, Any] = dict(namespace or {})  # copied once, read per row
        self.run_options = run_options
        self.usage: list[dict[str, Any]] = []
        self.interrupted = False

    def columns(self) -> dict[str, list[Any]]:
        """The ``columns=`` of the answers' sweep: the case's position and its values."""
        cases = self.dataset.rows
        extra: dict[str, list[Any]] = {"case": list(range(len(cases)))}
        for original, shown in self.names.items():
            extra[shown] = [row.get(original) for row in cases]
        return extra

    def table_columns(self) -> list[str]:
        """The table's columns, in order (the same for a sweep and a batch)."""
        names = ["case", *self.names.values(), "prompt", *TABLE_COLUMNS]
        for item in self.checks:
            names.append(item.name)
            if isinstance(item, Judge):
                names.append(item.reason_column)
        if self.checks:
            names.append(CHECK_ERRORS)
        return names

    def judge_requests(
        self, item: Judge, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[list[int], list[str], list[int]]:
        """Which rows ``item`` judges, the request text for each, and the rows refused."""
        positions, texts, refused = [], [], []
        for position, row in enumerate(rows):
            if row.get("status") not in _ANSWERED:
                continue
            case = self.dataset.rows[int(row["case"])]
            rubric = render_prompt(item.rubric, ChainMap(case, self.outer))
            text = judge_prompt(rubric, case, str(row.get("prompt") or ""), str(row["text"]))
            if looks_like_key(text):
                refused.append(position)
                continue
            positions.append(position)
            texts.append(text)
        return positions, texts, refused

    def apply_verdicts(
        self,
        item: Judge,
        rows: list[dict[str, Any]],
        positions: Sequence[int],
        verdicts: Sequence[Mapping[str, Any]],
        refused: Sequence[int],
    ) -> None:
        """Put ``item``'s columns (and failures) into ``rows`` from its requests' rows."""
        for row in rows:
            row[item.name] = row[item.reason_column] = None
        for position in refused:
            _add_failure(rows[position], item, _KEY_IN_ANSWER, False)
        for position, verdict in zip(positions, verdicts, strict=True):
            status = str(verdict.get("status"))
            if status in ("interrupted", "pending") and not verdict.get("text"):
                continue  # never graded: unchecked, not failed
            columns, message = verdict_columns(
                item, status, str(verdict.get("text") or ""), verdict.get("error")
            )
            rows[position].update(columns)
            if message is not None:
                _add_failure(rows[position], item, message, columns[item.name])

    def finish(self, rows: list[dict[str, Any]], via: str, name: str | None) -> EvalRun:
        """The run of these rows."""
        return EvalRun(
            table=table_from_rows(rows, self.table_columns()),
            checks=self.checks,
            name=name or one_line(self.template, 40),
            template=self.template,
            via=via,
            dataset={
                "fingerprint": self.dataset.fingerprint(),
                "cases": len(self.dataset),
                "columns": self.dataset.columns,
            },
            options={k: _jsonable(v) for k, v in self.run_options.items() if v is not None},
            usage=self.usage,
            interrupted=self.interrupted,
        )


def _add_failure(row: dict[str, Any], item: Judge, message: str, score: object) -> None:
    row[item.name] = score
    if row.get(item.reason_column) is None:
        row[item.reason_column] = message
    line = f"{item.name}: {message}"
    row[CHECK_ERRORS] = f"{row[CHECK_ERRORS]}; {line}" if row.get(CHECK_ERRORS) else line


def _by_sweep(
    job: _Evaluation,
    prompts: list[str],
    *,
    client: Any,
    repeat: int,
    sweep_options: dict[str, Any],
    options: dict[str, Any],
) -> tuple[list[dict[str, Any]], GroqSession]:
    plan = plan_sweep(prompts, repeat=repeat, client=client, columns=job.columns(), **options)
    label = "answers" if job.judges else None
    records, job.interrupted = run_planned(plan, checks=job.plain, label=label, **sweep_options)
    rows = [r.settled if r.settled is not None else r.row(with_prompt=True) for r in records]
    job.usage.append(_usage("answers", rows))
    for item in job.judges:
        if job.interrupted:  # stopped: what is not graded stays unchecked
            job.apply_verdicts(item, rows, [], [], [])
            continue
        positions, texts, refused = job.judge_requests(item, rows)
        verdicts: list[dict[str, Any]] = []
        if texts:
            judged = plan_sweep(texts, client=plan.session, **_judge_options(item, options))
            found, job.interrupted = run_planned(judged, label=_label(item), **sweep_options)
            # The records' own rows (no copies): a large evaluation holds rows, not twice.
            verdicts = [r.settled if r.settled is not None else r.row() for r in found]
            job.usage.append(_usage(_label(item), verdicts))
        job.apply_verdicts(item, rows, positions, verdicts, refused)
    return rows, plan.session


def _label(item: Judge) -> str:
    """The progress bar's label for a judge's requests."""
    return item.name if "judge" in item.name else f"judge {item.name}"


def _judge_options(item: Judge, options: Mapping[str, Any]) -> dict[str, Any]:
    """The judge's request options: its model, deterministic, short, structured."""
    return {
        "system": JUDGE_SYSTEM,
        "schema": VERDICT_SCHEMA,
        "model": item.model,
        "temperature": 0,
        "max_tokens": item.max_tokens,
        "cache": options.get("cache"),
    }


def _waited(job: Any, progress: bool) -> list[dict[str, Any]] | None:
    """The rows of a Batch job once it ends (waited for with its progress bar); None
    when the stop button stopped the waiting (the job goes on)."""
    from groq_magic import batching

    job.wait(poll=batching.POLL_SECONDS, progress=progress)
    if job.status in ("validating", "in_progress", "finalizing", "cancelling"):
        return None
    return list(row_dicts(job.results()))


def _by_batch(
    job: _Evaluation,
    prompts: list[str],
    *,
    client: Any,
    repeat: int,
    progress: bool,
    options: dict[str, Any],
) -> tuple[list[dict[str, Any]], GroqSession]:
    from groq_magic.batching import batch

    sent = batch(
        prompts, repeat=repeat, client=client, columns=job.columns(), checks=job.plain, **options
    )
    rows = _waited(sent, progress)
    if rows is None:
        raise EvalError(
            f"stopped waiting for batch {sent.id}, which goes on: when it is done,"
            f" groq_magic.batch_job({sent.id!r}).results() gives its answers"
        )
    job.usage.append(_usage("answers", rows))
    session = sent.session
    for item in job.judges:
        if job.interrupted:  # stopped waiting: what is not graded stays unchecked
            job.apply_verdicts(item, rows, [], [], [])
            continue
        positions, texts, refused = job.judge_requests(item, rows)
        verdicts: list[dict[str, Any]] = []
        if texts:
            judged = batch(texts, client=session, **_judge_options(item, {}))
            found = _waited(judged, progress)
            if found is None:  # the answers are kept; this judge's verdicts are not in
                job.interrupted, positions, refused = True, [], []
            else:
                verdicts = found
                job.usage.append(_usage(_label(item), verdicts))
        job.apply_verdicts(item, rows, positions, verdicts, refused)
    assert session is not None  # batch() always keeps the session it planned with
    return rows, session


def _from_namespace(options: dict[str, Any], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """``schema`` and ``tools`` given by name, as the objects ``namespace`` holds: the
    prompts are filled already, so the sweep gets no namespace to look names up in."""
    if not namespace:
        return options
    found = dict(options)
    schema = found.get("schema")
    if isinstance(schema, str) and schema in namespace:
        found["schema"] = namespace[schema]
    tools = found.get("tools")
    names = [tools] if isinstance(tools, str) else tools
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        found["tools"] = [namespace.get(n, n) for n in names]
    return found


def _store_run(run: EvalRun, session: GroqSession) -> None:
    store = session.log.store
    if not store.enabled:
        run.note = f"not stored: {store.reason}"
        return
    fields, rows = run.stored()
    run.id = store.record_run(fields, rows)
    if run.id is None:
        run.note = f"not stored: {store.reason or 'the store could not write it'}"


def _refuse_bad_arguments(template: object, via: str, cache: bool) -> None:
    """One line for arguments that cannot make an evaluation, before any data is read."""
    if via not in VIAS:
        raise EvalError(f"via must be 'sweep' or 'batch' (got {via!r})")
    if not isinstance(template, str):
        raise EvalError(f"the template is a string with {{column}} references (got {template!r})")
    if via == "batch" and cache:
        raise EvalError(
            "cache=True replays answers the store holds; via='batch' sends every row as a"
            " Batch job: use one or the other"
        )


def _resolved_checks(
    checks: object, dataset: Dataset, namespace: Mapping[str, Any] | None
) -> list[Check]:
    """``checks`` resolved against the table's columns; each judge's rubric references checked."""
    names = _table_names(dataset)
    resolved = resolve_checks(checks, reserved=(*RESERVED_COLUMNS, *names.values()))
    for item in resolved:
        if isinstance(item, Judge):
            check_references(item.rubric, dataset, namespace, f"rubric of {item.name!r}")
    return resolved


def evaluate(
    template: str,
    data: object,
    *,
    model: str | Sequence[str] | None = None,
    checks: object = None,
    cache: bool = False,
    via: str = "sweep",
    name: str | None = None,
    repeat: int = 1,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    progress: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    pacer: Any = None,
    **options: Any,
) -> EvalRun:
    """Run ``template`` over every case of ``data``; check, judge and store the answers.

    ``data``: a DataFrame, a list of dicts, a dict of columns, or a CSV / JSONL / JSON
    path; each case fills the template's ``{column}`` references (the cell's template
    rules; ``namespace`` fills other names). ``model`` and the other options (the
    ``%%groq`` knobs by name: ``temperature``, ``max_tokens``, ``system``...) take one
    value or, for those a compare varies, a list: every combination runs for every
    case, ``repeat`` times. ``checks``: names (``"equals:expected"``), functions,
    :func:`~groq_magic.evals.grader.judge` objects. ``cache=True`` replays every answer
    and verdict the store already holds. ``via="batch"`` sends the answers and each
    judge's requests as Batch API jobs (half the price) and waits for them. ``name``
    names the stored run (default: the template's start). ``client``, ``progress``,
    ``concurrency`` and ``pacer`` are :func:`groq_magic.sweep`'s.

    Returns the :class:`~groq_magic.evals.run.EvalRun`. Bad input (an unknown column,
    empty data, a bad path, a CSV that does not parse) is one ChatError line, before
    anything is sent.
    """
    _refuse_bad_arguments(template, via, cache)
    dataset = load_dataset(data)
    options = _from_namespace(options, namespace)
    resolved = _resolved_checks(checks, dataset, namespace)
    prompts = fill_template(template, dataset, namespace)
    given = {"model": model, "cache": cache or None, **options}
    run_options = {"repeat": repeat if repeat != 1 else None, **given}
    job = _Evaluation(template, dataset, resolved, namespace=namespace, run_options=run_options)
    if via == "batch":
        rows, session = _by_batch(
            job, prompts, client=client, repeat=repeat, progress=progress, options=given
        )
    else:
        sweep_options = {"concurrency": concurrency, "progress": progress, "pacer": pacer}
        rows, session = _by_sweep(
            job, prompts, client=client, repeat=repeat, sweep_options=sweep_options, options=given
        )
    run = job.finish(rows, via, name)
    _store_run(run, session)
    return run
