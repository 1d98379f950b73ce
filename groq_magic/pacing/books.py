"""The pacer's books for one model: what each request was charged, corrected by what the
server says (a response's ``x-ratelimit-*`` headers, a *reading*) and by what each answer
really used.

Groq reserves a request's prompt plus its max tokens when it admits it (that response's
headers already count it) and gives back what the answer did not use when the answer ends.
The books do the same: a permit is charged its estimate when it is let go, and the
difference comes back (a *refund*) as soon as the answer's usage is known, whether or not a
reading counted the request meanwhile. A reading sets the TPM and RPD budgets to what the
server said, less what it may not have counted yet (:func:`uncounted`).
"""

from __future__ import annotations

from groq_magic.pacing.bucket import refit
from groq_magic.pacing.permit import Permit
from groq_magic.pacing.reading import RateLimitHeaders
from groq_magic.pacing.state import ModelState

__all__ = ["apply_reading", "give_back", "later", "refund", "trim", "uncounted"]


def uncounted(permit: Permit, base: Permit) -> bool:
    """Whether the server may not have counted ``permit`` when it answered ``base``.

    Those let go after ``base``, and those let go before it that have had no answer yet:
    on a loaded machine a request let go first can reach the server last.
    """
    if permit is base or permit.rejected:
        return False
    return permit.seq > base.seq or not permit.answered


def later(state: ModelState, base: Permit) -> tuple[int, int]:
    """Requests and tokens the server may not have counted when it answered ``base``."""
    requests = tokens = 0
    for permit in state.log:
        if uncounted(permit, base):
            requests += 1
            tokens += permit.tokens
    return requests, tokens


def apply_reading(
    state: ModelState,
    base: Permit,
    headers: RateLimitHeaders,
    now: float,
    *,
    minute: float,
    day: float,
    first_answer: bool = False,
) -> None:
    """Reset the TPM and RPD budgets to what the server said when it answered ``base``.

    The server had counted ``base`` (unless it was rejected) and the requests let go
    before it that have been answered; the others are subtracted as still to count. The
    refill between the server's answer and now is left out: a little conservative.
    ``first_answer``: ``base`` had no answer before this one.
    """
    if not headers.any:
        return
    if base.seq < state.base_seq:
        _older_reading(state, base, headers, now, first_answer=first_answer)
        return
    state.base_seq = base.seq
    state.base_requests_left = headers.requests_remaining
    later_requests, later_tokens = later(state, base)
    if (headers.tokens_limit or 0) > 0 and headers.tokens_remaining is not None:
        level = headers.tokens_remaining - later_tokens
        books = state.tokens.refill(now) if state.tokens is not None else None
        state.tokens = refit(state.tokens, headers.tokens_limit or 0, minute, now, level)
        if books is not None:
            _note_surplus(state, state.tokens.level - books)
        for permit in state.log:
            if not uncounted(permit, base):
                permit.seen = True
        base.seen = True
    if (headers.requests_limit or 0) > 0 and headers.requests_remaining is not None:
        level = headers.requests_remaining - later_requests
        day_requests = refit(state.day_requests, headers.requests_limit or 0, day, now, level)
        state.day_requests = day_requests
        if headers.requests_reset is not None:
            # Groq's reset is the time until the budget is full again; the requests let go
            # since push it further out.
            rate = day_requests.rate
            state.day_reset_at = now + headers.requests_reset + later_requests / rate


def _note_surplus(state: ModelState, beyond_books: float) -> None:
    """A reading showed ``beyond_books`` more tokens than the books held: refunds the server
    made for answers whose end is not read yet (see :func:`refund`). Kept until those ends
    are read, and never more than the answers in flight could give back."""
    pending = sum(p.tokens for p in state.log if p.seen and not p.settled)
    state.surplus = min(pending, state.surplus + max(0.0, beyond_books))


def _older_reading(
    state: ModelState, base: Permit, headers: RateLimitHeaders, now: float, *, first_answer: bool
) -> None:
    """A reading older than the one applied, which took ``base`` as not yet counted.

    If the server had counted it (more requests remained when it answered this one), the
    daily budget was charged twice: give one back, or the last request of a day would be
    refused as spent.
    """
    left, applied = headers.requests_remaining, state.base_requests_left
    if (
        first_answer
        and not base.rejected
        and state.day_requests is not None
        and left is not None
        and applied is not None
        and left > applied
    ):
        state.day_requests.give(1, now)


def refund(state: ModelState, permit: Permit, used: int, prompt: int | None, now: float) -> None:
    """The answer used ``used`` tokens (``prompt`` of them its prompt, when known): give back
    what the request was charged beyond that (or take what it used beyond it), as the
    server does when the answer ends.

    The books charged the estimate; once a reading counted the request they hold what the
    server reserved, its prompt plus its max tokens, which the usage's prompt tokens tell
    exactly. A reading may also already hold the refund: the server gives it back when the
    answer ends, and a request admitted just after can have its headers read before this
    answer's end is. Giving it again would promise tokens the server does not have (a 429),
    so a reading that showed more than the books held (``surplus``) pays for the refunds
    of requests it counted.
    """
    estimate, permit.tokens = permit.tokens, used
    if state.day_tokens is not None:  # no reading sets the TPD: it holds the estimate
        state.day_tokens.give(estimate - used, now)
    if state.tokens is None:
        return
    charged = estimate
    if permit.seen and prompt is not None and permit.max_tokens is not None:
        charged = prompt + permit.max_tokens
    difference = charged - used
    paid = min(state.surplus, difference) if permit.seen and difference > 0 else 0.0
    state.surplus -= paid
    state.tokens.give(difference - paid, now)


def give_back(state: ModelState, permit: Permit, now: float) -> None:
    """The server refused ``permit`` (a 429) and counted nothing: undo its charges (not the
    user's own cap, which counts what was sent)."""
    permit.rejected = True
    if not permit.seen:
        for bucket in state.token_buckets():
            bucket.give(permit.tokens, now)
    for bucket in state.request_buckets(users=False):
        bucket.give(1, now)
    if state.day_requests is not None and state.day_reset_at is not None:
        state.day_reset_at -= 1 / state.day_requests.rate


def trim(state: ModelState) -> None:
    """Forget settled permits older than every one in flight: no reading needs them.

    Called after a verdict's reading, which still needs the permits after its own.
    """
    while state.log and state.log[0].settled:
        state.log.popleft()
