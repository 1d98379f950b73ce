"""The store package: its public names, its errors, and that it stays free of IPython."""

from __future__ import annotations

import json
import subprocess
import sys

import groq_magic.store as store
from groq_magic.chat import ChatError

PUBLIC = {
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
}


def test_public_names_have_docstrings() -> None:
    assert set(store.__all__) == PUBLIC
    for name in store.__all__:
        value = getattr(store, name)
        if callable(value):
            assert value.__doc__, name


def test_every_error_is_a_one_line_chat_error() -> None:
    for error in (store.StoreError, store.PriceFileError, store.ExportError):
        assert issubclass(error, ChatError)
        assert error.__doc__
        assert str(error("a\n  b")) == "a b"


def test_import_does_not_load_ipython_or_widgets() -> None:
    code = (
        "import json, sys\n"
        "import groq_magic.store\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'IPython', 'ipywidgets', 'ipykernel', 'pandas', 'nbformat', 'platformdirs'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # platformdirs too loads only when the default path is first needed.
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
