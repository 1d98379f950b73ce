"""The errors the exchange store raises, each with a one-line message.

They are :class:`~groq_magic.chat.ChatError` subclasses, so the magic's existing
mapping shows any of them as a single usage line::

    ChatError
    └── StoreError                the store cannot be opened, read or written; a bad age
        ├── PriceFileError(ValueError)  a price file or dict that is not a valid price table
        └── ExportError               an export path with an unknown extension, or one that exists
"""

from __future__ import annotations

from groq_magic.chat.errors import ChatError

__all__ = ["ExportError", "PriceFileError", "StoreError"]


class StoreError(ChatError):
    """The exchange store cannot do what was asked; ``str()`` is the one line to show."""


class PriceFileError(StoreError, ValueError):
    """A price override (file or dict) is not a valid price table."""


class ExportError(StoreError):
    """A conversation cannot be exported to the path given."""
