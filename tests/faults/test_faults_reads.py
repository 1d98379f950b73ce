"""Every local read is bounded: no device, FIFO, huge file or deep nesting hangs or floods.

``%%groq --image /dev/zero`` and ``%groq load /dev/zero`` used to read until MemoryError,
a FIFO blocked the kernel, and 200,000 nested ``[`` in a chat file was a RecursionError
traceback. Each is now one line naming the file (and the cap, for a size), nothing sent,
history unchanged. Sizes past a cap are made with sparse files, so nothing large is
written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keys import forget_keys
from scripted_server import ScriptedServer

from groq_magic._files import FileReadError, read_bounded
from groq_magic.backend import read_dotenv_key
from groq_magic.chat.conversation import MAX_CHAT_FILE_BYTES
from groq_magic.chat.images import MAX_IMAGE_FILE_BYTES


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def _one_line(shown: str) -> str:
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in shown
    return lines[0]


@pytest.fixture
def keyed(shell: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_bounded_reads_0123456789")
    yield shell
    forget_keys()


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/dev/zero", "is a device, not a file"),
        ("{fifo}", "is a FIFO (named pipe), not a file"),
        ("{big}", f"over the {MAX_IMAGE_FILE_BYTES // (1024 * 1024)} MB this reads at most"),
    ],
    ids=["device", "fifo", "too-big"],
)
def test_an_image_that_is_not_a_bounded_file_is_one_line(
    keyed: Any,
    server: ScriptedServer,
    capsys: Any,
    fifo: Path,
    tmp_path: Path,
    source: str,
    expected: str,
) -> None:
    big = _sparse(tmp_path / "big.png", MAX_IMAGE_FILE_BYTES + 1)
    before = keyed._groq_magics.session.store.current.to_json()
    path = source.format(fifo=fifo, big=big)
    result, shown = _run(keyed, capsys, f"%%groq --image {path}\nWhat is this?")
    assert expected in _one_line(shown)
    assert result.error_in_exec is not None
    assert server.requests == []
    assert keyed._groq_magics.session.store.current.to_json() == before


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/dev/zero", "is a device, not a file"),
        ("{fifo}", "is a FIFO (named pipe), not a file"),
        ("{big}", f"over the {MAX_CHAT_FILE_BYTES // (1024 * 1024)} MB this reads at most"),
        ("{deep}", "nested too deeply to be a chat"),
        ("{folder}", "is a folder, not a file"),
    ],
    ids=["device", "fifo", "too-big", "deep", "folder"],
)
def test_a_chat_file_that_cannot_be_data_is_one_line(
    keyed: Any, capsys: Any, fifo: Path, tmp_path: Path, source: str, expected: str
) -> None:
    big = _sparse(tmp_path / "big.json", MAX_CHAT_FILE_BYTES + 1)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    before = keyed._groq_magics.session.store.current.to_json()
    path = source.format(fifo=fifo, big=big, deep=deep, folder=tmp_path)
    result, shown = _run(keyed, capsys, f"%groq load {path}")
    assert expected in _one_line(shown)
    assert result.error_in_exec is not None
    assert keyed._groq_magics.session.store.current.to_json() == before


@pytest.mark.timeout(30)
def test_a_price_file_that_is_a_device_is_refused_in_one_line(
    keyed: Any, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # %config reports a refused value through IPython's log (one ERROR line).
    _run(keyed, capsys, '%config GroqMagics.prices = "/dev/zero"')
    [record] = [r for r in caplog.records if "GroqMagics.prices" in r.getMessage()]
    assert "price file '/dev/zero' is a device, not a file" in record.getMessage()
    assert keyed._groq_magics.prices is None


@pytest.mark.timeout(30)
def test_a_dotenv_fifo_does_not_hang_and_gives_no_key(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".env")
    assert read_dotenv_key(tmp_path) is None


def test_a_file_that_grows_past_the_cap_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 10)
    # The cap is checked on what is read, not only on the size stat saw.
    with pytest.raises(FileReadError, match="this reads at most"):
        read_bounded(path, 5)
    assert read_bounded(path, 10) == b"x" * 10
