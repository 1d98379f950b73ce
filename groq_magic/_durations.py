"""Go durations as Groq's rate-limit headers and 429 messages write them: standard library only.

One parser for the client (``RateLimits.from_headers``) and the pacer
(:mod:`groq_magic.pacing`), which must stay importable without the client.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_go_duration"]

_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNIT = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,  # Go accepts both the micro sign and the Greek mu
    "ns": 1e-9,
}


def parse_go_duration(text: str | None) -> float | None:
    """Seconds in a Go duration (``7.66s``, ``2m59.56s``, ``130ms``, ``1h2m3s``); None if not one.

    A bare number is taken as seconds, as some servers send ``retry-after`` style values.
    """
    if text is None or not (text := text.strip()):
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    total, end = 0.0, 0
    for match in _GO_PART.finditer(text):
        if match.start() != end:
            return None
        total += float(match.group(1)) * _GO_UNIT[match.group(2)]
        end = match.end()
    return total if end == len(text) else None
