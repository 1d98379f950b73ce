"""How many requests go at once, and how fast while the RPM is unknown.

Concurrency adapts like TCP's congestion window: it starts at 1 (the first answer's
headers tell the budgets), grows while no 429 comes back and halves on one, never above the
user's ``max_concurrency``. Until a 429 names the RPM (it has no header), sends are spaced
by about a round trip, less as answers keep coming without 429s, so reaching the unknown
wall costs one or two 429s rather than a window full of them.
"""

from __future__ import annotations

import math

from groq_magic.pacing.permit import Permit
from groq_magic.pacing.state import ModelState

__all__ = ["allowed", "back_off", "cut", "grow", "note_round_trip", "probing_ready"]

# Spacing of sends while the RPM is unknown: one round trip at first, shrunk as answers
# keep coming back without 429s (down to half the time a response takes to start, or
# 10 ms), so a high RPM is not capped by it for long.
_MIN_GAP = 0.001
_MAX_GAP = 0.25
_GAP_SHRINK = 0.8
_GAP_STREAK = 4
_GAP_FLOOR_CAP = 0.01  # 6,000 requests a minute: 200 times the free tier's RPM of 30
# Backoff after a 429 that names no limit (and carries no hint).
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0


def allowed(state: ModelState, max_concurrency: int, *, eager: bool = False) -> int:
    """Requests in flight the model may have now; ``eager`` ones skip the slow start until a
    429 has cut the window."""
    if eager and state.threshold == math.inf:
        return max_concurrency
    return max(1, min(max_concurrency, math.floor(state.window)))


def probing_ready(state: ModelState, *, eager: bool = False) -> float:
    """When the next send may go while the RPM is unknown (-inf: the gap holds nothing)."""
    if state.requests is not None or state.gap is None or eager:
        return -math.inf
    return state.last_sent + state.gap


def note_round_trip(state: ModelState, permit: Permit, now: float, *, headers_only: bool) -> None:
    """The first answer to a permit: how long a round trip takes (sets the send gap).

    ``headers_only``: the answer is a response's start (headers, or a 429), which is how
    long a 429 takes to come back; a whole answer also holds the generation.
    """
    if permit.answered:
        return
    permit.answered = True
    rtt = now - permit.acquired_at
    if headers_only:
        state.header_rtt = min(state.header_rtt, rtt)
    rtt = max(_MIN_GAP, min(_MAX_GAP, rtt))
    state.gap = rtt if state.gap is None else min(state.gap, rtt)


def grow(state: ModelState, max_concurrency: int) -> None:
    """An answer without a 429: widen the window, and shorten the probing gap now and then."""
    # Additive increase: +1 a success below the threshold (slow start), +1 a window above.
    step = 1.0 if state.window < state.threshold else 1.0 / state.window
    state.window = min(float(max_concurrency), state.window + step)
    state.strikes = 0
    state.streak += 1
    if state.gap is not None and state.streak % _GAP_STREAK == 0:
        # Never below half the time a response takes to start: at most a couple of sends
        # can be on their way when the first 429 from the unknown RPM comes back. A
        # non-streamed answer starts only when it is generated, so the floor is capped: it
        # must not hold a sweep below a high RPM for long.
        floor = min(state.header_rtt / 2, _GAP_FLOOR_CAP)
        state.gap = max(_MIN_GAP, floor, state.gap * _GAP_SHRINK)


def back_off(state: ModelState, hint: float | None, now: float) -> None:
    """A 429 that named no limit: wait as it hinted, else exponentially; probe slower."""
    wait = hint if hint is not None else min(_BACKOFF_BASE * 2**state.strikes, _BACKOFF_CAP)
    state.resume_at = max(state.resume_at, now + wait)
    state.strikes += 1
    if state.gap is not None:
        state.gap = min(_MAX_GAP, state.gap * 2)


def cut(state: ModelState, permit: Permit, last_seq: int) -> None:
    """A 429: halve the window, once per burst (429s on permits granted before the last cut
    are the same congestion seen again, not a new one)."""
    if permit.seq > state.cut_after:
        state.threshold = max(1.0, math.floor(state.window) / 2)
        state.window = state.threshold
        state.cut_after = last_seq
    state.streak = 0
