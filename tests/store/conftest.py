"""Store fixtures: every test gets its own SQLite file, and none touches the user's data folder.

- autouse ``_store_env``: ``GROQ_MAGIC_STORE`` points into the test's ``tmp_path``, so
  code that opens the default store never writes to the real ``user_data_dir``.
- ``store``: an open :class:`Store` on ``tmp_path / "store.sqlite"`` whose warnings are
  collected in ``warnings`` (a list of lines) instead of printed.
- ``make_request(prompt, **fields)``: a request body as the engine sends it.
- ``make_exchange(**fields)``: an :class:`Exchange` with a small Groq-shaped request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from groq_magic.store import Exchange, Store

BASE_URL = "https://api.groq.com/openai/v1"
MODEL = "llama-3.3-70b-versatile"


@pytest.fixture(autouse=True)
def _store_env(_clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_MAGIC_STORE", str(tmp_path / "env-default.sqlite"))


@pytest.fixture
def warnings() -> list[str]:
    """Lines the store under test sent to its warning callback."""
    return []


@pytest.fixture
def store(tmp_path: Path, warnings: list[str]) -> Iterator[Store]:
    """A store on ``tmp_path / "store.sqlite"``, closed after the test."""
    opened = Store(tmp_path / "store.sqlite", on_warning=warnings.append)
    yield opened
    opened.close()


def _request(prompt: str = "Name a colour.", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.5,
    }
    body.update(fields)
    return body


@pytest.fixture
def make_request() -> Callable[..., dict[str, Any]]:
    """Factory for request bodies as the engine sends them: model, one message, temperature."""
    return _request


@pytest.fixture
def make_exchange() -> Callable[..., Exchange]:
    """Factory for exchanges: a complete answer to a one-message request, fields overridable."""

    def factory(prompt: str = "Name a colour.", **fields: Any) -> Exchange:
        options: dict[str, Any] = {
            "request": _request(prompt),
            "answer": "Blue.",
            "model": MODEL,
            "base_url": BASE_URL,
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            "timings": {"ttft": 0.1, "total": 0.2, "tokens_per_second": 30.0},
            "finish_reason": "stop",
        }
        options.update(fields)
        return Exchange(**options)

    return factory
