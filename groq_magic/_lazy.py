"""Names a package resolves on first use (PEP 562), so that importing it stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, table: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports a name's module when first asked.

    ``table`` maps each lazy name to the module that defines it; the value found is
    kept in ``namespace`` (the package's ``globals()``), so the next access is plain.
    Any other name is an ``AttributeError``, which also lets ``from package import
    submodule`` fall through to importing the submodule.
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
