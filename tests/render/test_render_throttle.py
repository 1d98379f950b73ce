"""UpdateThrottle: the time and growth rules, each on its own and together."""

from __future__ import annotations

import itertools

import pytest
from render_fakes import FakeClock

from groq_magic.render.throttle import UpdateThrottle


def test_first_text_is_sent_at_once_after_the_interval() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.05, growth=0.15, clock=clock)
    assert throttle.should_update(1)
    assert throttle.threshold() == 1 + throttle.min_growth  # the update at 1 was recorded


def test_interval_blocks_updates_that_come_too_soon() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.05, growth=0.15, clock=clock, min_growth=1)
    assert throttle.should_update(100)
    clock.advance(0.049)
    assert not throttle.should_update(1000)
    clock.advance(0.001)
    assert throttle.should_update(1000)


def test_growth_blocks_small_additions_however_much_time_passes() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.05, growth=0.15, clock=clock, min_growth=1)
    assert throttle.should_update(1000)
    clock.advance(60.0)
    assert not throttle.should_update(1150)  # exactly 15 % is not more than 15 %
    assert throttle.should_update(1151)


def test_min_growth_applies_to_short_texts() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.0, growth=0.15, clock=clock, min_growth=16)
    assert throttle.should_update(10)
    assert throttle.threshold() == 26
    assert not throttle.should_update(25)
    assert throttle.should_update(26)


def test_record_counts_as_an_update() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.05, growth=0.15, clock=clock)
    throttle.record(0)
    assert not throttle.should_update(5)  # the interval counts from the recorded display
    clock.advance(0.05)
    assert throttle.should_update(5)


def test_rejected_lengths_do_not_read_the_clock() -> None:
    reads: list[int] = []

    def clock() -> float:
        reads.append(1)
        return 0.0

    throttle = UpdateThrottle(min_interval=0.05, growth=0.15, clock=clock, min_growth=16)
    throttle.record(1000)
    reads.clear()
    for length in range(1001, 1150):
        assert not throttle.should_update(length)
    assert reads == []


def test_sent_lengths_grow_geometrically() -> None:
    clock = FakeClock()
    throttle = UpdateThrottle(min_interval=0.0, growth=0.15, clock=clock)
    sent = [n for n in range(1, 100_000) if throttle.should_update(n)]
    for before, after in itertools.pairwise(sent):
        assert after > before * 1.15
    # The whole series costs less than (1 + g) / g times its last term.
    assert sum(sent) < sent[-1] * 1.15 / 0.15


@pytest.mark.parametrize("kwargs", [{"min_interval": -1.0}, {"growth": 0.0}, {"min_growth": -1}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="growth"):
        UpdateThrottle(**kwargs)  # type: ignore[arg-type]
