"""The one error type of the embedded backend."""

from __future__ import annotations


class LocalModelError(RuntimeError):
    """The local model server cannot be used; ``str(error)`` is one line for the user.

    Raised for: the extra not installed, a model path that does not exist or is
    not GGUF, a port that cannot be bound, a server that exits at start or never
    becomes ready. The last lines of the server's log, when there are any, are
    kept in ``log_tail`` (a list of strings) and summarised in the message.
    """

    def __init__(self, message: str, log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.log_tail: list[str] = list(log_tail or [])
