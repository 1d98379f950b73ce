"""API keys: what one looks like, which ones are in force, and the one redaction of both.

Standard library only, so the magic can check a line at ``%load_ext`` cost and every
layer (the client included) can redact without importing anything else.

A key is spotted two ways:

- **by shape**: Groq keys are ``gsk_`` and ~52 letters/digits, OpenAI-style ones
  ``sk-...``, and ``Bearer <token>`` is a credential whatever the token. The shape is
  loose on purpose: redacting text that merely looks like a key costs less than
  sending or saving a real one;
- **by value**: every key actually in force (``GROQ_API_KEY``, a ``.env`` file,
  ``%groq login``, a client's ``api_key=``) is registered with :func:`remember_key`
  when it is read, whatever its shape (``myserverkey_ABC...`` for a self-hosted
  server), and masked wherever it appears.

:func:`redact` is the one redaction every sink applies (the live display, tool lines,
history, saved and exported files, the store, log records, error lines, tables);
:class:`StreamRedactor` applies it to text that arrives in pieces, holding back only
a tail that could still become a key.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = [
    "KEY_SHAPE",
    "MIN_KEY_LENGTH",
    "REDACTED",
    "RedactingFilter",
    "StreamRedactor",
    "install_log_filter",
    "looks_like_key",
    "redact",
    "redact_value",
    "remember_key",
]

KEY_SHAPE = re.compile(r"\b(?:gsk_[A-Za-z0-9_]{12,}|sk-[A-Za-z0-9_-]{16,})")
# Applied before KEY_SHAPE, so "Bearer gsk_..." goes whole, the word "Bearer" with it
# (also once a registered key after it was masked).
_BEARER = re.compile(r"\bbearer\s+(?:\[redacted\]|[A-Za-z0-9._~+/=-]{12,})", re.I)

REDACTED = "[redacted]"

MIN_KEY_LENGTH = 12
"""Shorter "keys" are placeholders that OpenAI-compatible servers ignore ("local",
"ollama", "EMPTY"): masking them would corrupt every answer holding the word, and they
protect nothing. Real keys (Groq's are 56 characters) are longer."""

_lock = threading.Lock()
_keys: tuple[str, ...] = ()  # longest first, so a key that contains another goes whole


def remember_key(value: object) -> None:
    """Register a key in force, so :func:`redact` masks it whatever its shape."""
    global _keys
    if not isinstance(value, str):
        return
    key = value.strip()
    if len(key) < MIN_KEY_LENGTH or key in _keys:
        return
    with _lock:
        if key not in _keys:
            _keys = tuple(sorted((*_keys, key), key=len, reverse=True))


def _suspect(text: str) -> bool:
    # Plain substring tests first: a case-insensitive regex costs ~50x more on a long
    # text, and nearly every text passes clean. Only a non-key token after a "bEaReR"
    # in odd case would slip by the shape test.
    return "gsk_" in text or "sk-" in text or "earer" in text or "EARER" in text


def redact(text: str) -> str:
    """``text`` with every registered key, key-shaped word and Bearer credential masked."""
    for key in _keys:
        if key in text:
            text = text.replace(key, REDACTED)
    if not _suspect(text):
        return text
    return KEY_SHAPE.sub(REDACTED, _BEARER.sub(REDACTED, text))


def redact_value(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, strings) with :func:`redact` on every string.

    New containers, shared leaves: nothing the caller holds is changed. Other objects
    are returned as they are.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return value


def looks_like_key(text: str) -> bool:
    """True if ``text`` holds a key in force or something shaped like an API key."""
    return any(key in text for key in _keys) or bool(KEY_SHAPE.search(text))


# The longest tail a growing text may end in and still become a shaped key or a Bearer
# credential: "gsk_abc" might go on to be a key, "gsk_abc " cannot.
_PARTIAL_SHAPE = re.compile(
    r"(?:\bgsk_[A-Za-z0-9_]*|\bsk-[A-Za-z0-9_-]*|\bb(?:e(?:a(?:r(?:e(?:r(?:\s+[A-Za-z0-9._~+/=-]*)?)?)?)?)?)?)\Z",
    re.I,
)


class StreamRedactor:
    """:func:`redact` for text that arrives in pieces (a streamed answer, its thinking).

    ``feed(piece)`` returns what can be shown now, already masked; a tail that could
    still turn into a key (the start of a registered key, ``gsk_...`` still growing,
    ``Bearer ...``) is held until the next piece decides it. ``flush()`` returns the
    rest at the end. What comes out joins into ``redact(whole text)``.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """The masked text that can be released after ``piece``; the rest is held."""
        if not piece:
            return ""
        text = self._held + piece
        cut = len(text) - self._holdable(text)
        self._held = text[cut:]
        return redact(text[:cut]) if cut else ""

    def flush(self) -> str:
        """Everything still held, masked (the stream ended)."""
        text, self._held = self._held, ""
        return redact(text)

    @staticmethod
    def _holdable(text: str) -> int:
        """How many trailing characters of ``text`` could still be part of a key."""
        hold = 0
        match = _PARTIAL_SHAPE.search(text[-256:])
        if match is not None:
            hold = len(match.group(0))
        for key in _keys:
            # The longest suffix of ``text`` that begins a registered key.
            for size in range(min(len(key), len(text)), 0, -1):
                if hold >= size:
                    break
                if key.startswith(text[-size:]):
                    hold = size
                    break
        return hold


class RedactingFilter(logging.Filter):
    """A logging filter that masks keys in a record's message and traceback.

    Installed on the ``groq_magic`` logger (every module of the package logs there),
    so a DEBUG log that quotes a request, an answer or an error holds no key.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        message = record.getMessage()
        masked = redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_filter(logger_name: str = "groq_magic") -> None:
    """Put one :class:`RedactingFilter` on ``logger_name`` (again is a no-op)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
