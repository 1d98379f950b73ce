"""When the pacer will not let a request go, because waiting would not help.

::

    PacingRefused (RuntimeError)   str() is the one line to show
    ├── DailyLimitReached          a daily limit is spent: waiting would take hours
    └── LimitIsZero                the key may send nothing to this model (a 429 said Limit 0)
"""

from __future__ import annotations

from groq_magic.pacing.reading import Unit, Window, format_duration

__all__ = ["DailyLimitReached", "LimitIsZero", "PacingRefused"]

_KEYS = {
    ("requests", "minute"): "RPM",
    ("tokens", "minute"): "TPM",
    ("requests", "day"): "RPD",
    ("tokens", "day"): "TPD",
}


class PacingRefused(RuntimeError):
    """The pacer refuses a request for ``model`` at once; ``str()`` is the one line to show."""

    model: str


class DailyLimitReached(PacingRefused):
    """A daily limit (requests or tokens per day) is spent: waiting would take hours.

    ``model``, ``unit`` (``requests`` or ``tokens``), ``limit`` and ``resets_in`` (seconds,
    None when unknown) say the same as the line, as data.
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


class LimitIsZero(PacingRefused):
    """The server said this model's limit is 0 for the key (``Limit 0`` in a 429): no request
    to it can succeed, so the runs fail at once with this line instead of retrying.

    The pacer believes it for one minute of the server's, then lets a request try again.
    """

    def __init__(self, model: str, unit: Unit, window: Window) -> None:
        self.model = model
        self.unit = unit
        self.window = window
        super().__init__(
            f"{model} allows 0 {unit} per {window} ({_KEYS[unit, window]}) for this API key:"
            " the server refuses every request to it — use another model, or raise the limit"
            " on the provider's console"
        )
