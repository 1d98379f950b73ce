"""One line for an API error: what happened (status, code, message) and what to do.

The hints name the next step a notebook user can take (set the key, list the
models, shorten the history) instead of leaving them with a status code.
"""

from __future__ import annotations

import re

from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIStreamError,
    APITimeoutError,
    AuthenticationError,
    CapacityExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
)

__all__ = ["VISION_HINT", "explain_error", "hint_for"]

VISION_HINT = (
    "this model reads text only: send images to a vision model such as"
    " meta-llama/llama-4-scout-17b-16e-instruct"
)
# Groq's 400 for content parts (images) sent to a text-only model: "message[0].content
# must be a string", or "'messages.0' : ... ('messages.0.content' : value must be a
# string)". Only a user message with images has list content here, so this is what it means.
_TEXT_ONLY = re.compile(r"content'?\s*:?\s*(?:value )?must be a string", re.I)

KEY_HINT = "set GROQ_API_KEY (or run %groq login) with a key from https://console.groq.com/keys"
MODELS_HINT = "%groq models lists the models this server offers"


# Errors whose kind alone says what to do, in the order they are tried (a timeout is
# also a connection error: the more precise hint comes first).
_HINTS_BY_KIND: tuple[tuple[type[APIError], str], ...] = (
    (RateLimitError, "rate limited: wait a moment and re-run the cell"),
    (
        CapacityExceededError,
        "the flex tier is full: try again later or pass service_tier='on_demand'",
    ),
    (APITimeoutError, "the server did not answer in time; re-run the cell"),
    (APIStreamError, "the partial answer was kept and marked incomplete; %groq retry re-runs it"),
    (APIConnectionError, "check the network, or GROQ_BASE_URL if you set one"),
    (InternalServerError, "the server failed (already retried); re-run the cell later"),
)


def hint_for(exc: APIError) -> str | None:
    """The next step for this error, or None when there is nothing useful to say."""
    code = exc.code or ""
    if isinstance(exc, AuthenticationError):
        return KEY_HINT
    if isinstance(exc, PermissionDeniedError):
        return "this key may not use that model or endpoint; check your Groq organisation"
    if isinstance(exc, NotFoundError) or code in ("model_not_found", "model_decommissioned"):
        return MODELS_HINT
    if code == "json_validate_failed":
        return "the model's JSON did not match; the failed generation is shown below"
    if exc.status_code == 400 and _TEXT_ONLY.search(exc.message):
        return VISION_HINT
    too_long = code == "context_length_exceeded" or exc.param == "messages"
    if isinstance(exc, RequestTooLargeError) or too_long:
        return "the conversation is too long: %groq reset, %groq undo, or --no-history"
    for kind, hint in _HINTS_BY_KIND:
        if isinstance(exc, kind):
            return hint
    return None


def explain_error(exc: APIError) -> str:
    """``"<status> <code>: <message> (<hint>)"`` on one line."""
    # A status below 400 (a 200 whose body broke the protocol) is no news to the user.
    status = exc.status_code if exc.status_code and exc.status_code >= 400 else None
    head = " ".join(str(part) for part in (status, exc.code) if part)
    message = " ".join(exc.message.split())
    text = f"{head}: {message}" if head else message
    hint = hint_for(exc)
    return f"{text} ({hint})" if hint else text
