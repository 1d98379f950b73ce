"""How an :class:`~groq_magic.evals.run.EvalRun` shows: summary, chart, failing rows first.

:func:`run_bundle` is the run's ``_repr_mimebundle_``: ``text/html`` for a notebook
(saved in the .ipynb, so nbviewer and GitHub show it without a kernel) and
``text/plain`` for a terminal. The HTML has the run's headline, the pass-rate
summary, a chart of pass rates per model / parameter set and check (a PNG drawn
with matplotlib when it is installed, else an inline SVG bar chart, no
dependency), and the rows with the failing ones first.

Only display lives here; the numbers come from the run (its ``summary`` and
table). matplotlib is used without pyplot (a ``Figure`` and the Agg canvas), so
no global figure state or backend changes.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic._text import one_line
from groq_magic.checks import CHECK_ERRORS, Check
from groq_magic.knobs import GRID_FIELDS

if TYPE_CHECKING:
    from groq_magic.evals.run import EvalRun

__all__ = ["SHOWN_ROWS", "chart_png", "chart_svg", "pass_rate_bars", "run_bundle"]

SHOWN_ROWS = 20
"""Rows the display lists (failing first); the table has them all."""

_TEXT_WIDTH = 160
_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#9D755D")
_COUNTS = frozenset({"count", "unchecked", "all_passed"})


def _summary_rows(run: EvalRun) -> list[dict[str, Any]]:
    return run.summary_records()


def _group_label(row: Mapping[str, Any], checks: Sequence[Check]) -> str:
    names = {c.name for c in checks} | {f"{c.name}_mean" for c in checks} | _COUNTS
    parts = [f"{k} {one_line(v)}" for k, v in row.items() if k not in names]
    return " · ".join(parts) or "all runs"


def _rate(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def pass_rate_bars(run: EvalRun) -> list[tuple[str, list[tuple[str, float | None]]]]:
    """Per summary group (its label), each check's pass rate: what the chart draws."""
    return [
        (_group_label(row, run.checks), [(c.name, _rate(row.get(c.name))) for c in run.checks])
        for row in _summary_rows(run)
    ]


def chart_png(bars: Sequence[tuple[str, Sequence[tuple[str, float | None]]]]) -> bytes | None:
    """The pass-rate chart as PNG bytes; None when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    checks = [name for name, _ in bars[0][1]] if bars else []
    height = max(1.6, 0.28 * len(bars) * max(1, len(checks)) + 0.9)
    figure = Figure(figsize=(6.4, height), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    step = 0.8 / max(1, len(checks))
    for j, name in enumerate(checks):
        rates = [rates_of[j][1] for _, rates_of in bars]
        positions = [i + j * step for i in range(len(bars))]
        drawn = axes.barh(
            positions, [r or 0.0 for r in rates], height=step * 0.9, label=_plain(name),
            color=_COLOURS[j % len(_COLOURS)],
        )  # fmt: skip
        shown = ["-" if r is None else f"{r:.0%}" for r in rates]
        axes.bar_label(drawn, labels=shown, padding=3, fontsize="small")
    axes.set_yticks([i + step * (len(checks) - 1) / 2 for i in range(len(bars))])
    axes.set_yticklabels([_plain(label) for label, _ in bars])
    axes.invert_yaxis()
    axes.set_xlim(0, 1.12)  # room for a "100%" label past the longest bar
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
    axes.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    axes.set_xlabel("pass rate")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(checks), 4),
        fontsize="small", frameon=False,
    )  # fmt: skip
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _plain(text: str) -> str:
    """``text`` as matplotlib shows it literally (a ``$`` would start mathtext)."""
    return text.replace("$", r"\$")


def chart_svg(bars: Sequence[tuple[str, Sequence[tuple[str, float | None]]]]) -> str:
    """The pass-rate chart as an inline SVG (no dependency): a bar per group and check."""
    label_width, bar_width, row = 220, 300, 16
    lines: list[str] = []
    y = 4
    for label, rates in bars:
        lines.append(f'<text x="0" y="{y + 12}" font-weight="bold">{html.escape(label)}</text>')
        y += row + 2
        for j, (name, rate) in enumerate(rates):
            width = int(bar_width * (rate or 0.0))
            shown = "-" if rate is None else f"{rate:.0%}"
            lines.append(f'<text x="12" y="{y + 12}">{html.escape(name)}</text>')
            lines.append(
                f'<rect x="{label_width}" y="{y + 2}" width="{width}" height="{row - 4}"'
                f' fill="{_COLOURS[j % len(_COLOURS)]}"/>'
            )
            lines.append(f'<text x="{label_width + width + 6}" y="{y + 12}">{shown}</text>')
            y += row
        y += 6
    total_width = label_width + bar_width + 60
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{y}"'
        f' font-family="sans-serif" font-size="12">{"".join(lines)}</svg>'
    )


def _chart_html(run: EvalRun) -> str:
    if not run.checks:
        return ""
    bars = pass_rate_bars(run)
    png = chart_png(bars)
    if png is None:
        return chart_svg(bars)
    data = base64.b64encode(png).decode()
    return f'<img alt="pass rate per model and check" src="data:image/png;base64,{data}"/>'


def _cell(value: object, limit: int | None = None) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(one_line(value, limit))


def _html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], **limits: int) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c), limits.get(c))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _percentages(rows: list[dict[str, Any]], checks: Sequence[Check]) -> list[dict[str, Any]]:
    rated = {"all_passed", *(c.name for c in checks)}
    return [
        {k: (f"{v:.0%}" if k in rated and _rate(v) is not None else v) for k, v in row.items()}
        for row in rows
    ]


def shown_rows(run: EvalRun) -> tuple[list[dict[str, Any]], int]:
    """The rows the display lists (failing ones first, then the rest) and how many failed."""
    rows = run.records()
    failing = run.failing_positions(rows)
    chosen = set(failing[:SHOWN_ROWS])
    rest = [i for i in range(len(rows)) if i not in chosen]
    order = failing[:SHOWN_ROWS] + rest[: max(0, SHOWN_ROWS - len(chosen))]
    return [rows[i] for i in order], len(failing)


def _row_columns(run: EvalRun, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    varying = [c for c in GRID_FIELDS if len({str(r.get(c)) for r in rows}) > 1]
    names = ["case", *run.data_columns(), *varying, "text"]
    for item in run.checks:
        names.append(item.name)
    return [*names, CHECK_ERRORS] if run.checks else names


def run_html(run: EvalRun) -> str:
    """The run as HTML: headline, summary, chart, rows (failing first)."""
    parts = [f"<p><b>{html.escape(run.headline())}</b></p>"]
    if run.note:
        parts.append(f"<p><i>{html.escape(run.note)}</i></p>")
    summary = _percentages(_summary_rows(run), run.checks)
    if summary:
        parts.append(_html_table(summary, list(summary[0])))
    parts.append(_chart_html(run))
    rows, failed = shown_rows(run)
    parts.append(
        f"<p><b>rows</b>: {failed} of {run.rows} failed a check; "
        f"{len(rows)} shown, failing first (<code>.table</code> has them all)</p>"
    )
    parts.append(_html_table(rows, _row_columns(run, rows), text=_TEXT_WIDTH))
    return "<div>" + "".join(parts) + "</div>"


def run_text(run: EvalRun) -> str:
    """The run as plain text: headline, pass rates per group, the first failing rows."""
    lines = [run.headline()]
    if run.note:
        lines.append(run.note)
    for label, rates in pass_rate_bars(run):
        shown = " · ".join(f"{n} {'-' if r is None else f'{r:.0%}'}" for n, r in rates)
        lines.append(f"  {label}: {shown}")
    rows, failed = shown_rows(run)
    if failed:
        lines.append(f"failing rows ({failed} of {run.rows}):")
        varying = [c for c in GRID_FIELDS if len({str(r.get(c)) for r in rows}) > 1]
        for row in rows[: min(failed, 10)]:
            head = " · ".join([f"case {row.get('case')}", *(f"{c} {row.get(c)}" for c in varying)])
            lines.append(f"  {head} · {one_line(row.get('text'), 60)!r} · {_why(run, row)}")
    return "\n".join(lines)


def _why(run: EvalRun, row: Mapping[str, Any]) -> str:
    """Why a row failed: its checks' messages, else the names of the checks it failed."""
    errors = row.get(CHECK_ERRORS)
    if isinstance(errors, str) and errors:
        return one_line(errors, 100)
    failed = [c.name for c in run.checks if c.passes(row.get(c.name)) is False]
    return "failed: " + ", ".join(failed)


def run_bundle(run: EvalRun) -> dict[str, str]:
    """The run's ``_repr_mimebundle_``: HTML and plain text."""
    return {"text/plain": run_text(run), "text/html": run_html(run)}
