"""Replay-cache keys and the ages ``cache clear --older-than`` takes.

A key is the SHA-256 of the server's base URL and the canonical JSON of the
request body (sorted keys, no whitespace). Decisions:

- **Everything in the body counts**: model, messages (so image parts and earlier
  turns), temperature, seed, tools, response format, stop, and any field we do
  not know yet. Two requests that differ in anything the server sees never
  share an answer.
- **``stream`` and ``stream_options`` do not count.** They change how the answer
  is delivered, not what it is, so a streamed and a non-streamed request for the
  same thing share the stored answer.
- **The base URL counts** (scheme, host, port and path, lower-cased host, no
  trailing slash): the same body sent to Groq and to a local server are
  different questions. User info, query and fragment are dropped: they are not
  the server's identity and could hold a credential.
- **The API key never counts**: it travels in a header and is never in the body;
  credential-named fields are stripped from the body before hashing anyway.
- A float that is a whole number hashes like the integer (``temperature=1`` and
  ``1.0`` are the same request).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from groq_magic.chat.options import strip_secrets
from groq_magic.store._errors import StoreError

__all__ = ["IGNORED_FIELDS", "cache_key", "normalize_base_url", "parse_age"]

IGNORED_FIELDS = frozenset({"stream", "stream_options"})
"""Request fields left out of the key: they change the delivery, not the answer."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_base_url(base_url: str) -> str:
    """``scheme://host[:port]/path`` without user info, query, fragment or trailing slash."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def url_host(base_url: str | None) -> str | None:
    """The host (and a non-default port) of ``base_url``, never its user info."""
    if not base_url:
        return None
    normal = normalize_base_url(base_url)
    return normal.split("://", 1)[-1].split("/", 1)[0] or None


def _canonical_scalar(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def keyed_text(body: Mapping[str, Any]) -> str:
    """The canonical JSON the key hashes: ``body`` without ``stream`` fields, sorted, compact."""
    keyed = {k: _canonical_scalar(v) for k, v in body.items() if k not in IGNORED_FIELDS}
    return json.dumps(keyed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def key_from_text(text: str, base_url: str) -> str:
    """The key of a body whose :func:`keyed_text` is ``text``, sent to ``base_url``."""
    digest = hashlib.sha256(normalize_base_url(base_url).encode())
    digest.update(b"\n")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def key_from_clean(body: Mapping[str, Any], base_url: str) -> str:
    """:func:`cache_key` for a body that has already been through ``strip_secrets``."""
    return key_from_text(keyed_text(body), base_url)


def cache_key(request_body: Mapping[str, Any], base_url: str) -> str:
    """A stable hex key for ``request_body`` sent to ``base_url`` (see the module docstring)."""
    clean: dict[str, Any] = strip_secrets(request_body)
    return key_from_clean(clean, base_url)


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """``"30m"``, ``"12h"``, ``"7d"``, ``"2w"`` (also ``"45s"``) as a timedelta.

    Anything else raises one :class:`StoreError` line.
    """
    match = _AGE.match(str(text))
    if not match:
        raise StoreError(
            f"cannot read {text!r} as an age: use a number and a unit, e.g. 30m, 12h, 7d or 2w"
        )
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit.lower()])
