"""groq_magic.render.progress: plain lines, the terminal bar and the widgets (injected clock)."""

from __future__ import annotations

import io

import pytest
from ui_fakes import FakeClock, RecordingDisplay

from groq_magic.render.progress import Progress, format_cost, format_duration


class FakeTTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def tick_finish(
    progress: Progress,
    clock: FakeClock,
    seconds: float,
    ok: bool = True,
    tokens: int | None = None,
    cost: float | None = None,
) -> None:
    clock.now += seconds
    progress.finished(ok, tokens, cost)


# ---- the line ----------------------------------------------------------------------------


def test_time_left_is_the_rate_so_far_applied_to_the_runs_left() -> None:
    clock = FakeClock()
    progress = Progress(10, live=False, clock=clock, stream=io.StringIO())
    progress.started()
    assert progress.line() == "0 / 10 done · 1 running · cost unknown · time left —"
    tick_finish(progress, clock, 4.0, tokens=120, cost=0.002)
    assert progress.line().endswith("time left —")  # one completion is no rate yet
    tick_finish(progress, clock, 2.0, ok=False, tokens=30, cost=0.001)
    # 2 done in 6 s: 3 s each, 8 to go.
    assert progress.line() == ("2 / 10 done · 1 failed · 150 tokens · $0.0030 so far · ~24 s left")
    clock.now += 3600
    assert progress.line().endswith("~4 h 0 min left")  # 3606 s / 2 x 8


def test_unknown_cost_stays_unknown_and_is_never_counted_as_zero() -> None:
    progress = Progress(4, live=False, clock=FakeClock(), stream=io.StringIO())
    progress.finished(tokens=10)
    assert "cost unknown" in progress.line()
    assert "$" not in progress.line()
    progress.finished(tokens=10, cost=0.25)
    assert "$0.2500 so far (+ 1 run of unknown cost)" in progress.line()
    progress.finished(cost=None)
    assert "(+ 2 runs of unknown cost)" in progress.line()
    progress.update(cost=None)
    assert "cost unknown" in progress.line()
    progress.update(cost=1.5)
    assert "$1.50 so far ·" in progress.line()
    assert "$1.50 ·" in progress.line(final=True)


def test_retries_leave_the_running_count() -> None:
    progress = Progress(3, live=False, clock=FakeClock(), stream=io.StringIO())
    progress.started()
    progress.started()
    progress.retrying()
    assert progress.line().startswith("0 / 3 done · 1 running · 1 retried · ")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (42.4, "42 s"), (65, "1 min 05 s"), (3599.6, "1 h 0 min"), (7830, "2 h 10 min")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("dollars", "text"), [(0, "$0"), (0.00012, "$0.0001"), (0.5, "$0.5000"), (1234.5, "$1,234.50")]
)
def test_format_cost(dollars: float, text: str) -> None:
    assert format_cost(dollars) == text


# ---- plain lines (nbconvert, the runner, logs) -------------------------------------------


def test_plain_stream_gets_a_line_every_tenth_and_a_final_line() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(20, live=False, clock=clock, stream=out)
    assert out.getvalue() == ""  # nothing before the first tenth
    for i in range(20):
        progress.started()
        tick_finish(progress, clock, 1.0, ok=i != 4, tokens=10, cost=0.001)
    progress.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10  # at 2, 4, ... 18 done, then the final line
    assert lines[0] == "2 / 20 done · 20 tokens · $0.0020 so far · ~18 s left"
    assert lines[2] == "6 / 20 done · 1 failed · 60 tokens · $0.0060 so far · ~14 s left"
    assert lines[-1] == "20 / 20 done · 1 failed · 200 tokens · $0.0200 · took 20 s"


def interrupted_after_one_run(progress: Progress) -> None:
    progress.finished()
    raise KeyboardInterrupt


def test_close_once_with_a_note_and_interrupt_via_with() -> None:
    out = io.StringIO()
    progress = Progress(20, live=False, stream=out)
    with pytest.raises(KeyboardInterrupt), progress:
        interrupted_after_one_run(progress)
    progress.close("again")
    assert out.getvalue().splitlines() == ["1 / 20 done · cost unknown · took 0 s · interrupted"]


def test_ten_thousand_updates_write_eleven_lines_and_keep_no_per_run_state() -> None:
    out = io.StringIO()
    progress = Progress(10_000, live=False, clock=FakeClock(), stream=out)
    before = dict(vars(progress))
    for _ in range(10_000):
        progress.started()
        progress.finished(tokens=5, cost=0.0001)
    progress.close()
    assert len(out.getvalue().splitlines()) == 10  # 9 steps, then the final line
    assert vars(progress).keys() == before.keys()
    assert not [v for v in vars(progress).values() if isinstance(v, list | set | tuple)]


# ---- the terminal bar --------------------------------------------------------------------


def test_terminal_bar_redraws_in_place_at_most_twice_a_second() -> None:
    clock, out = FakeClock(), FakeTTY()
    progress = Progress(100, live=False, clock=clock, stream=out)
    for _ in range(100):
        tick_finish(progress, clock, 0.125, tokens=1)  # 12.5 s in all (exact in binary)
    progress.tick()
    frames = out.getvalue().split("\r")[1:]
    assert frames[0].startswith("[--------------------] 0 / 100 done · cost unknown")
    assert len(frames) == 26  # the first, then one every 4 runs (0.5 s)
    assert frames[-2].startswith("[###################-] 96 / 100 done · 96 tokens")
    assert frames[-1].startswith("[####################] 100 / 100 done · 100 tokens")
    progress.close()
    final = out.getvalue().split("\r")[-1]
    assert final.startswith("100 / 100 done · 100 tokens · cost unknown · took 12 s")
    assert final.endswith("\n")


def test_terminal_bar_blanks_what_a_shorter_line_leaves_and_ticks_move_the_estimate() -> None:
    clock, out = FakeClock(), FakeTTY()
    progress = Progress(4, live=False, clock=clock, stream=out)
    progress.finished(tokens=123456, cost=0.5)
    tick_finish(progress, clock, 1.0, tokens=1, cost=0.5)
    long_frame = out.getvalue().split("\r")[-1]
    progress.update(tokens=1, cost=None)
    clock.now += 1.0
    progress.tick()
    short_frame = out.getvalue().split("\r")[-1]
    assert "~2 s left" in short_frame
    assert len(short_frame) == len(long_frame)
    assert short_frame.rstrip().endswith("~2 s left")
    written = out.getvalue()
    progress.tick()  # not due yet: nothing written
    clock.now += 1.0
    progress.tick()  # due, and the estimate moved
    assert out.getvalue() != written
    assert out.getvalue().split("\r")[-1].rstrip().endswith("~3 s left")


# ---- widgets in a live notebook ----------------------------------------------------------


def test_live_progress_is_one_display_of_a_bar_and_a_label() -> None:
    clock, shown, out = FakeClock(), RecordingDisplay(), io.StringIO()
    progress = Progress(40, live=True, display=shown, clock=clock, stream=out)
    (handle,) = shown.handles
    bundle = handle.bundles[0]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert bundle["text/plain"] == "(progress of 40 runs)"
    bar, label = progress._bar, progress._label
    assert (bar.value, bar.max) == (0, 40)
    assert label.value == "0 / 40 done · cost unknown · time left —"

    for _ in range(3):
        progress.started()
    # Within the first 0.2 s: counted, not sent.
    tick_finish(progress, clock, 0.05, tokens=10, cost=0.01)
    assert bar.value == 0
    tick_finish(progress, clock, 0.2, ok=False, tokens=10, cost=0.01)
    assert bar.value == 2
    assert bar.bar_style == "danger"
    assert label.value == (
        "2 / 40 done · 1 failed · 1 running · 20 tokens · $0.0200 so far · ~5 s left"
    )
    progress.update(done=39, running=0)
    assert bar.value == 2  # not due
    clock.now += 0.2
    progress.tick()
    assert bar.value == 39
    progress.finished(tokens=1, cost=None)
    progress.close()
    assert bar.value == 40
    assert bar.bar_style == "warning"
    final = "40 / 40 done · 1 failed · 21 tokens · $0.0200 (+ 1 run of unknown cost) · took 0 s"
    assert label.value == final
    # The saved notebook's fallback (nbconvert, GitHub) is the final line; still one display.
    assert handle.bundles[-1]["text/plain"] == final
    assert len(shown.handles) == 1
    assert out.getvalue() == ""


def test_live_label_is_escaped_html_and_success_when_nothing_failed() -> None:
    shown = RecordingDisplay()
    progress = Progress(1, live=True, display=shown, clock=FakeClock())
    progress.finished(cost=0.0)
    progress.close("<b>note</b> & more")
    assert progress._bar.bar_style == "success"
    assert progress._label.value.endswith("· &lt;b&gt;note&lt;/b&gt; &amp; more")
    assert shown.handles[0].bundles[-1]["text/plain"].endswith("· <b>note</b> & more")


def test_live_updates_are_throttled_to_five_a_second() -> None:
    clock = FakeClock()
    progress = Progress(10_000, live=True, display=RecordingDisplay(), clock=clock)
    values: list[int] = []
    progress._bar.observe(lambda change: values.append(change["new"]), names="value")
    for _ in range(10_000):
        tick_finish(progress, clock, 0.001)  # 10 s of runs
    assert 49 <= len(values) <= 51
