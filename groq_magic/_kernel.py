"""The request a Jupyter kernel is running now, read the same way by every layer.

Standard library only. ipykernel keeps the message it is answering (its "parent");
its metadata names the cell (``cellId``), its content says whether a person can be
asked something (``allow_stdin``: false under nbclient, nbval and papermill).
"""

from __future__ import annotations

from typing import Any

__all__ = ["current_request"]


def current_request(kernel: Any) -> dict[str, Any]:
    """The kernel's current request message (``{}`` when there is no kernel or none)."""
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return {}
    try:
        parent = get_parent()
    except TypeError:  # older ipykernel wants the channel name
        parent = get_parent("shell")
    return parent if isinstance(parent, dict) else {}
