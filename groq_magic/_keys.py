"""What an API key looks like, defined once for every layer that must spot one.

Standard library only, so the magic can check a line at ``%load_ext`` cost.
Groq keys are ``gsk_`` and ~52 letters/digits; OpenAI-style ones ``sk-...``. The
shape is loose on purpose: refusing or redacting text that merely looks like a
key costs less than sending or saving a real one.
"""

from __future__ import annotations

import re

__all__ = ["KEY_SHAPE", "looks_like_key"]

KEY_SHAPE = re.compile(r"\b(?:gsk_[A-Za-z0-9_]{12,}|sk-[A-Za-z0-9_-]{16,})")


def looks_like_key(text: str) -> bool:
    """True if ``text`` contains something shaped like a Groq or OpenAI API key."""
    return bool(KEY_SHAPE.search(text))
