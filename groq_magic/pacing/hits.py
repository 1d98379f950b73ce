"""Learning from a 429's message: the limits Groq sends no header for (RPM, TPD), a spent
daily limit, and a limit of 0."""

from __future__ import annotations

from groq_magic.pacing.books import later
from groq_magic.pacing.bucket import refit
from groq_magic.pacing.permit import Permit
from groq_magic.pacing.reading import RateLimitHeaders, RateLimitHit
from groq_magic.pacing.state import ModelState, Spent, Zero

__all__ = ["learn"]

# A 429 that names no reset keeps a daily limit "spent" this long before probing again.
_SPENT_PROBE = 60.0


def learn(
    state: ModelState,
    permit: Permit,
    hit: RateLimitHit,
    headers: RateLimitHeaders,
    hint: float | None,
    now: float,
    *,
    minute: float,
    day: float,
) -> bool:
    """Fold what a 429's message says into the budgets; False if it says too little.

    ``permit`` is the refused request, ``hint`` the server's wait, ``minute`` and ``day``
    the lengths of its windows.
    """
    if hit.limit == 0:
        # The key may not use this model: refuse its requests at once for a minute of the
        # server's, then let one try again (a limit can be raised meanwhile).
        state.zero = Zero(hit.unit, hit.window, now + minute)
        return True
    if hit.window == "day":
        _spent_for_the_day(state, hit, headers, hint, now, day)
        return True
    if hit.limit is None:
        return False
    later_requests, later_tokens = later(state, permit)
    used = hit.used if hit.used is not None else hit.limit
    if hit.unit == "requests":
        level = hit.limit - used - later_requests
        state.requests = refit(state.requests, hit.limit, minute, now, level)
        return True
    level = hit.limit - used - later_tokens
    state.tokens = refit(state.tokens, hit.limit, minute, now, level)
    if hit.requested and permit.tokens and hit.requested > permit.tokens:
        # The server counts this request as larger than we estimated: scale up later
        # estimates for this model (at most doubled).
        state.scale = min(2.0, max(state.scale, hit.requested / permit.tokens))
    return True


def _spent_for_the_day(
    state: ModelState,
    hit: RateLimitHit,
    headers: RateLimitHeaders,
    hint: float | None,
    now: float,
    day: float,
) -> None:
    """A daily limit is spent: until when (the RPD header's reset, else the hint or a
    minute), and the TPD's level when the message says it."""
    resets = headers.requests_reset if hit.unit == "requests" else None
    wait = resets if resets is not None else max(hint or 0.0, _SPENT_PROBE)
    state.spent = Spent(hit.unit, hit.limit, now + wait, resets is not None)
    if hit.limit and hit.used is not None and hit.unit == "tokens":
        state.day_tokens = refit(state.day_tokens, hit.limit, day, now, hit.limit - hit.used)
