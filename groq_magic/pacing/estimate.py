"""Estimating what a request will count against the tokens-per-minute budget, before it is sent.

Standard library only: no tokenizer. The estimate errs a little on the high side, and each
answer's real usage (and each response's headers) corrects the pacer's books.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "DEFAULT_COMPLETION_TOKENS",
    "estimate_tokens",
    "max_completion_tokens",
    "text_tokens",
]

DEFAULT_COMPLETION_TOKENS = 256
"""Completion tokens assumed for a request that sets no max tokens (corrected by its usage)."""

# Pieces a BPE tokenizer (Llama 3's, 128k entries) rarely merges across: a run of ASCII
# letters, up to three digits (numbers are split in threes), one non-ASCII character (CJK,
# emoji: about a token each), a run of punctuation.
_PIECE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\x00-\x7f]|[^\sA-Za-z\d\x80-\U0010ffff]+")
# Chat-template tokens around each message (header start/end, role, end of turn).
_PER_MESSAGE = 4
# Tokens Groq is assumed to count for an image part (a guess on the safe side).
_PER_IMAGE = 1024


def _text_tokens(text: str) -> int:
    """About how many tokens ``text`` is: chars/4, or more for code, numbers and CJK.

    Plain English runs about 4 characters a token, which chars/4 gets right; dense text
    (JSON, code, digits, non-Latin scripts) has more tokens than that, which counting the
    pieces a tokenizer cannot merge catches. The larger of the two is kept.
    """
    if not text:
        return 0
    pieces = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isascii() and first.isalpha():
            pieces += 1 + len(piece) // 9  # long words split; common ones are one token
        elif first.isascii() and not first.isdigit():
            pieces += (len(piece) + 1) // 2  # '{"', '":', '),' often merge in pairs
        else:
            pieces += 1
    return max(pieces, math.ceil(len(text) / 4))


def text_tokens(text: str) -> int:
    """About how many tokens ``text`` is, by the estimate the pacer uses (see ``_text_tokens``).

    Public for the layers that size what they send (``--context`` blocks).
    """
    return _text_tokens(text)


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return _text_tokens(content)
    if isinstance(content, Iterable) and not isinstance(content, (bytes, Mapping)):
        total = 0
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                total += _PER_IMAGE
            elif isinstance(part, Mapping):
                total += _text_tokens(str(part.get("text") or ""))
            else:
                total += _text_tokens(str(part))
        return total
    return 0 if content is None else _text_tokens(json.dumps(content, default=str))


def estimate_tokens(
    request_body: Mapping[str, Any], *, default_completion: int = DEFAULT_COMPLETION_TOKENS
) -> int:
    """What the request will count against the tokens-per-minute budget, before it is sent.

    The prompt (every message's text, the tools' and the response schema's JSON, the
    chat template's few tokens per message) plus the completion it may produce:
    ``max_completion_tokens`` (or ``max_tokens``), else ``default_completion``, a guess that
    each answer's real usage corrects. Groq reserves the same sum when it admits a request
    and gives back what the answer did not use when it ends.
    """
    prompt = 3  # the assistant header the template appends
    for message in request_body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        prompt += _PER_MESSAGE + _content_tokens(message.get("content"))
        for extra in ("tool_calls", "name", "reasoning"):
            if message.get(extra):
                prompt += _text_tokens(json.dumps(message[extra], default=str))
    for extra in ("tools", "response_format"):
        value = request_body.get(extra)
        if value:
            prompt += _text_tokens(json.dumps(value, default=str))
    limit = max_completion_tokens(request_body)
    return prompt + (default_completion if limit is None else limit)


def max_completion_tokens(request_body: Mapping[str, Any]) -> int | None:
    """The completion tokens the request allows (``max_completion_tokens``, or the older
    ``max_tokens``); None when it sets none."""
    limit = request_body.get("max_completion_tokens") or request_body.get("max_tokens")
    return limit if isinstance(limit, int) and limit > 0 else None
