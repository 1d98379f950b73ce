"""``TerminalEcho``: iopub messages to terminal text, without a kernel.

The notebook sink re-sends a display's whole Markdown on every update; the echo
must print each display's new suffix only, start a replaced display on its own
line, show errors as one line and leave emptied displays alone.
"""

from __future__ import annotations

import io
from typing import Any

from groq_magic.run import TerminalEcho, default_output


class Writes(io.StringIO):
    """A text stream that remembers every write and flush."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self.flushes = 0

    def write(self, text: str) -> int:
        self.pieces.append(text)
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def msg(kind: str, **content: Any) -> dict[str, Any]:
    return {"msg_type": kind, "content": content}


def shown(display_id: str, kind: str, markdown: str, plain: str | None = None) -> dict[str, Any]:
    data = {"text/markdown": markdown}
    if plain is not None:
        data["text/plain"] = plain
    return msg(kind, data=data, metadata={}, transient={"display_id": display_id})


def test_streamed_answer_prints_only_new_suffixes() -> None:
    out = Writes()
    echo = TerminalEcho(out)
    echo.message(shown("d1", "display_data", "*m · waiting…*", "m · waiting…"))
    echo.message(shown("d1", "update_display_data", "Alpha "))
    echo.message(shown("d1", "update_display_data", "Alpha Bravo "))
    echo.message(shown("d1", "update_display_data", "Alpha Bravo Charlie"))
    final = "Alpha Bravo Charlie\n\nm · 10 → 3 tokens · stop"
    echo.message(shown("d1", "update_display_data", final + "*", final))
    assert out.getvalue() == "m · waiting…\nAlpha Bravo Charlie\n\nm · 10 → 3 tokens · stop"
    # The answer went out in pieces, each flushed as it came.
    assert out.pieces[2:5] == ["Alpha ", "Bravo ", "Charlie"]
    assert out.flushes >= len(out.pieces)


def test_final_form_with_trimmed_whitespace_adds_only_the_status() -> None:
    out = Writes()
    echo = TerminalEcho(out)
    echo.message(shown("d", "display_data", "Hi", "Hi"))
    echo.message(shown("d", "update_display_data", "Hi there \n"))
    echo.message(shown("d", "update_display_data", "x", "Hi there\n\nstatus"))
    assert out.getvalue() == "Hi there \n\n\nstatus"


def test_two_displays_are_tracked_separately() -> None:
    out = Writes()
    echo = TerminalEcho(out)
    echo.message(shown("a", "display_data", "one", "one"))
    echo.message(shown("b", "display_data", "two", "two"))
    echo.message(shown("a", "update_display_data", "one more"))
    # The suffix belongs to the first display, so it does not continue the second's line.
    assert out.getvalue() == "one\ntwo\n more"


def test_emptied_display_prints_nothing_and_error_is_one_line() -> None:
    out = Writes()
    echo = TerminalEcho(out)
    echo.message(shown("d", "display_data", "*waiting…*", "waiting…"))
    echo.message(msg("update_display_data", data={}, metadata={}, transient={"display_id": "d"}))
    echo.message(
        msg(
            "error",
            ename="UsageError",
            evalue="401 invalid_api_key: Invalid API Key\n  hint: set GROQ_API_KEY",
            traceback=["\x1b[31mTraceback...", "many lines"],
        )
    )
    assert out.getvalue() == (
        "waiting…\nUsageError: 401 invalid_api_key: Invalid API Key hint: set GROQ_API_KEY\n"
    )
    assert echo.errors == [
        "UsageError: 401 invalid_api_key: Invalid API Key hint: set GROQ_API_KEY"
    ]


def test_inputs_streams_and_results() -> None:
    out = Writes()
    echo = TerminalEcho(out)
    echo.message(msg("execute_input", code="x = 1\nprint(x)", execution_count=3))
    echo.message(msg("stream", name="stdout", text="1\n"))
    echo.message(msg("execute_result", data={"text/plain": "2", "text/html": "<b>2</b>"}))
    echo.message(msg("status", execution_state="idle"))
    assert out.getvalue() == "\nIn [3]: x = 1\n        print(x)\n1\n2\n"


def test_color_only_when_asked() -> None:
    out = Writes()
    TerminalEcho(out, color=True).message(msg("execute_input", code="1", execution_count=1))
    assert "\x1b[" in out.getvalue()
    plain = Writes()
    TerminalEcho(plain).message(msg("execute_input", code="1", execution_count=1))
    assert "\x1b[" not in plain.getvalue()


def test_default_output_sits_beside_the_input(tmp_path: Any) -> None:
    assert default_output(tmp_path / "quickstart.ipynb") == tmp_path / "quickstart.executed.ipynb"
