"""The suite passes however it was launched, also with SIGINT ignored.

A shell without job control starts background jobs with SIGINT ignored (``nohup python
-m pytest ... &`` in a script), and so do some CI runners; Python then installs no
SIGINT handler, and a test that sends SIGINT and expects ``KeyboardInterrupt`` would
fail with "DID NOT RAISE". The autouse fixture in ``conftest.py`` installs Python's
handler for every test. Here a pytest subprocess that starts with SIGINT ignored runs
interrupt tests of each kind: SIGINT to the process (the client), to the main thread
(the magic, as the kernel's stop button does), and the disposition a test's own child
process starts with.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INTERRUPT_TESTS = [
    "tests/client/test_client_streaming.py::test_keyboard_interrupt_mid_read_closes_the_response",
    "tests/magic/test_magic_history.py::test_interrupt_mid_stream_keeps_the_partial_answer",
    "tests/test_sigint_ignored.py::test_a_tests_child_process_starts_with_sigint_at_its_default",
]

# Without the plugins these tests do not use (nbval's nbformat and hypothesis take most of
# a pytest start-up here: seconds on a loaded machine), and without pyproject's addopts,
# which name nbval's options.
LEAN = [
    "-o",
    "addopts=",
    "-p",
    "no:nbval",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:cacheprovider",
]

# Ignore SIGINT, then exec: the new interpreter inherits it ignored, as from a launcher.
LAUNCH_WITH_SIGINT_IGNORED = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def with_sigint_ignored(*args: str) -> list[str]:
    """A command line that runs ``python *args`` with SIGINT ignored from the start."""
    return [sys.executable, "-c", LAUNCH_WITH_SIGINT_IGNORED, *args]


def sigint_disposition(command: list[str]) -> str:
    """``repr(signal.getsignal(SIGINT))`` in a Python started by ``command`` + ``-c``."""
    probe = "import signal; print(repr(signal.getsignal(signal.SIGINT)))"
    done = subprocess.run(
        [*command, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_a_tests_child_process_starts_with_sigint_at_its_default() -> None:
    # Run by the test below in a pytest that started with SIGINT ignored: the conftest
    # fixture's handler is reset on exec, so a kernel or runner started here can be
    # interrupted like one started from a terminal.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert sigint_disposition([sys.executable]) == repr(signal.default_int_handler)


def test_interrupt_tests_pass_in_a_pytest_started_with_sigint_ignored(tmp_path: Path) -> None:
    # The launcher really does leave SIGINT ignored (else this test would prove nothing).
    assert sigint_disposition(with_sigint_ignored()) == repr(signal.SIG_IGN)
    done = subprocess.run(
        with_sigint_ignored(
            "-m",
            "pytest",
            *INTERRUPT_TESTS,
            "-q",
            *LEAN,
            "--basetemp",
            str(tmp_path / "basetemp"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert f"{len(INTERRUPT_TESTS)} passed" in report, report
