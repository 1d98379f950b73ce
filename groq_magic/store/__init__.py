"""A local record of every exchange: log, replay cache, restore, export and cost.

Nothing here imports IPython or ipywidgets; the store is SQLite (standard
library) in the user's data folder, found with ``platformdirs``. Pieces:

- ``_db``: :class:`Store` and :func:`open_store` (where the file lives, the
  failure policy: automatic writes never raise, commands raise one line).
- ``_faults``: a fault that passes (lock, full disk, read-only file) or lasts, in one
  line; ``_backlog``: the writes that wait for a passing fault, in order, bounded, and
  made at the next write, at ``close`` or at exit; ``_carry``: a session's writes read
  back from a store file deleted or replaced under it, to write them again.
- ``_exchange``: :class:`Exchange`, one request and its outcome, and the
  scrubbing that keeps keys out of the file.
- ``_cache``: :func:`cache_key` (what makes two requests the same) and
  :func:`parse_age`.
- ``_restore``: :func:`conversations_from_turns`, chats back after a restart.
- ``export``: Markdown and notebook export of a conversation.
- ``prices``: the price table (``prices.json``) and :func:`cost`.
- ``log``: :class:`StoreLog`, the session's ``TurnLog`` over the store (what
  the engine calls to replay, record and price each turn).

Errors (each ``str()`` is one line; all are ``ChatError`` subclasses)::

    StoreError
    ├── PriceFileError(ValueError)
    └── ExportError
"""

from __future__ import annotations

from groq_magic.store._cache import IGNORED_FIELDS, cache_key, normalize_base_url, parse_age
from groq_magic.store._db import (
    DEFAULT_FILENAME,
    ENV_VAR,
    CacheInfo,
    Store,
    check_path,
    default_path,
    open_store,
    resolve_path,
)
from groq_magic.store._errors import ExportError, PriceFileError, StoreError
from groq_magic.store._exchange import Exchange, scrub_text
from groq_magic.store._queries import NO_NOTEBOOK
from groq_magic.store._restore import conversations_from_turns
from groq_magic.store.export import export, export_markdown, export_notebook
from groq_magic.store.log import StoreLog, StoreSettings, notebook_path
from groq_magic.store.prices import ModelPrice, PriceTable, cost, default_prices, load_prices

__all__ = [
    "DEFAULT_FILENAME",
    "ENV_VAR",
    "IGNORED_FIELDS",
    "NO_NOTEBOOK",
    "CacheInfo",
    "Exchange",
    "ExportError",
    "ModelPrice",
    "PriceFileError",
    "PriceTable",
    "Store",
    "StoreError",
    "StoreLog",
    "StoreSettings",
    "cache_key",
    "check_path",
    "conversations_from_turns",
    "cost",
    "default_path",
    "default_prices",
    "export",
    "export_markdown",
    "export_notebook",
    "load_prices",
    "normalize_base_url",
    "notebook_path",
    "open_store",
    "parse_age",
    "resolve_path",
    "scrub_text",
]
