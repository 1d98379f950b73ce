"""When the pacer will not let a request go, because waiting would not help."""

from __future__ import annotations

from groq_magic.pacing.reading import Unit, format_duration

__all__ = ["DailyLimitReached"]


class DailyLimitReached(RuntimeError):
    """A daily limit (requests or tokens per day) is spent: waiting would take hours.

    ``str()`` is the one line to show; ``model``, ``unit`` (``requests`` or ``tokens``),
    ``limit`` and ``resets_in`` (seconds, None when unknown) say the same as data.
    """

    def __init__(self, model: str, unit: Unit, limit: int | None, resets_in: float | None) -> None:
        self.model = model
        self.unit = unit
        self.limit = limit
        self.resets_in = resets_in
        what = "request" if unit == "requests" else "token"
        quota = f" ({limit:,} {unit} per day)" if limit else ""
        if resets_in is None:
            when, why = "it resets within a day", "waiting would take hours"
        else:
            when = f"it resets in {format_duration(resets_in)}"
            why = "waiting would take hours" if resets_in >= 3600 else "too long to wait here"
        super().__init__(
            f"the daily {what} limit for {model} is spent{quota}; {when}: {why}"
            " — run the rest with groq_magic.batch(...)"
        )
