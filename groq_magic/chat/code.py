"""``--code`` and ``%groq fix``: asking for code, and taking the code out of an answer.

Models wrap code in Markdown fences, add a sentence before or after, or (small ones)
forget the fence. :func:`extract_code` takes every fenced block in the kernel's
language (or with no language), joined in order; a fence left open by an answer cut
short counts up to the end. Only when code was asked for and no fence came is the
whole answer taken, and only if it parses as code: prose never becomes a cell that
fails with a ``SyntaxError`` (jupyter-ai's ``--format code`` does both, #59 and #751).
"""

from __future__ import annotations

import ast
import re

__all__ = ["code_instruction", "explain_prompt", "extract_code", "fix_prompt"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^`\n]*$")
_ALIASES = {
    "python": frozenset({"python", "py", "python3", "py3", "ipython", "ipython3"}),
}


def _tags(language: str) -> frozenset[str]:
    """The fence tags that mean ``language`` (and the empty tag: a bare fence)."""
    return _ALIASES.get(language.lower(), frozenset({language.lower()})) | {""}


def _fenced(text: str) -> list[tuple[str, str]]:
    """``(tag, code)`` of every fenced block in ``text``; an unclosed one runs to the end."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag = ""
    body: list[str] = []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, tag, body = match.group(1), match.group(2).lower(), []
            continue
        closes = (
            match is not None
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not match.group(2)
        )
        if closes:
            blocks.append((tag, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None and body:
        blocks.append((tag, "\n".join(body)))
    return blocks


def _parses_as_code(text: str, language: str) -> bool:
    """True when ``text`` is code: Python that parses and is more than a bare word."""
    if language.lower() != "python":
        return False  # no parser for other languages: only fenced code counts
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    bare = (ast.Name, ast.Constant)
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, bare)) for s in tree.body)


def extract_code(text: str, language: str = "python", *, whole: bool = False) -> str | None:
    """The code in an answer: its fenced blocks in ``language``, joined; None if none.

    ``whole=True`` (code was asked for): an answer without any fence is taken whole
    when it parses as code.
    """
    blocks = [code.strip("\n") for tag, code in _fenced(text) if tag in _tags(language)]
    blocks = [code for code in blocks if code.strip()]
    if blocks:
        return "\n\n".join(blocks)
    stripped = text.strip()
    if whole and stripped and not _fenced(text) and _parses_as_code(stripped, language):
        return stripped
    return None


def code_instruction(language: str) -> str:
    """What ``--code`` adds after the prompt."""
    return f"Give the {language} code for the notebook cell in a single fenced ```{language} block."


def fix_prompt(language: str, note: str = "") -> str:
    """``%groq fix``: the cause in a few lines, then the whole corrected cell."""
    extra = f"\n\n{note.strip()}" if note.strip() else ""
    return (
        "The cell shown in the context raised the error shown there. Explain the cause in at"
        f" most five lines, then give the whole corrected {language} cell.{extra}"
    )


def explain_prompt(note: str = "") -> str:
    """``%groq explain``: the cause and how to fix it, in words."""
    extra = f"\n\n{note.strip()}" if note.strip() else ""
    return (
        "The cell shown in the context raised the error shown there. Explain in a few lines"
        f" what caused it and how to fix it.{extra}"
    )
