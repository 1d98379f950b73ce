"""A permit: leave to send one request, and the way to say how it went."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from groq_magic.pacing.reading import HeaderSource, read_rate_limit_headers

if TYPE_CHECKING:
    from groq_magic.pacing.pacer import RateLimitPacer

__all__ = ["Permit"]


class Permit:
    """Leave to send one request; say how it went with one of :meth:`done`,
    :meth:`failed_rate_limited` or :meth:`failed` (later calls are ignored).

    Used as a context manager (``with await pacer.acquire(...) as permit:``), leaving the
    block without a verdict (an exception, a cancelled task) counts as :meth:`failed`.
    """

    def __init__(
        self,
        pacer: RateLimitPacer,
        model: str,
        seq: int,
        tokens: int,
        acquired_at: float,
        *,
        max_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.seq = seq
        self.tokens = tokens
        """The tokens charged: the estimate, then the real usage once :meth:`done` says it."""
        self.max_tokens = max_tokens
        """The request's max completion tokens (None: it set none)."""
        self.acquired_at = acquired_at
        self.settled = False
        self.rejected = False
        # True once a response's headers counted this request in the server's remaining
        # tokens (Groq reserves the prompt plus the max tokens when it admits a request).
        self.seen = False
        self.observed = False
        self.answered = False
        self._pacer = pacer

    def observe(self, headers: HeaderSource | None) -> None:
        """The response's headers arrived (a stream's start): correct the budgets now."""
        if not self.settled and not self.observed:
            self.observed = True
            self._pacer._observe(self, read_rate_limit_headers(headers))

    def done(
        self,
        *,
        headers: HeaderSource | None = None,
        used_tokens: int | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        """The request succeeded; ``used_tokens`` is the usage's ``total_tokens`` and
        ``prompt_tokens`` its ``prompt_tokens``, when known (with both, and the request's
        max tokens, the pacer gives back exactly what the server does).

        After :meth:`observe`, ``headers`` are ignored: they are the same response's, and
        applying them again at the end of a long stream would forget the refill meanwhile.
        """
        if not self.settled:
            seen = None if self.observed else headers
            self._pacer._done(self, read_rate_limit_headers(seen), used_tokens, prompt_tokens)

    def failed_rate_limited(
        self,
        headers: HeaderSource | None = None,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        """The request got a 429: learn the limit its message names; back off as it says."""
        if not self.settled:
            self._pacer._rate_limited(self, read_rate_limit_headers(headers), message, retry_after)

    def failed(self, headers: HeaderSource | None = None) -> None:
        """The request failed otherwise (connection, 5xx, cancelled): free its place."""
        if not self.settled:
            self._pacer._failed(self, read_rate_limit_headers(headers))

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.failed()

    def __repr__(self) -> str:
        state = "settled" if self.settled else "in flight"
        return f"<Permit {self.model} #{self.seq} {self.tokens} tokens {state}>"
