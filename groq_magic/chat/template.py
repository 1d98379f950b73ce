"""Fill ``{name}`` references in a prompt from the user's namespace, leaving code alone.

``str.format_map`` is not used: it chokes on every JSON object and code block.
Instead only text that is *exactly* a reference is replaced::

    {name}   {name.attr}   {name[0]}   {name[-1]}   {name["key"]}   {a.b[2].c}

Decisions on the ambiguous cases:

- Anything else in braces stays as typed: ``{"a": 1}``, ``{ x }`` (spaces mean
  "not a reference"), ``{0}``, ``{x:>3}``, ``{x!r}``, ``{d[key]}`` (unquoted key),
  ``{}``, ``{1,2}``, ``function f() { return 1; }``.
- Fenced code blocks (lines opening with ````` ``` ````` or ``~~~``, closed by the
  same fence or the end of the text) are copied verbatim, escapes included, so
  code pasted in a fence never needs escaping. Inline backtick spans are *not*
  special: ``Explain `{fn}` `` fills ``fn``.
- ``{{`` always becomes ``{``. ``}}`` becomes ``}`` only when it closes a ``{{``;
  otherwise it is left alone, because ``}}`` ends every nested JSON object
  (``{"a": {"b": 1}}``) and many code blocks. Unbalanced braces stay as typed.
- A reference to a missing name, attribute, key or index raises one-line
  :class:`TemplateError` naming the expression, before any request.
- Nothing is evaluated: names are looked up in the namespace, attributes with
  ``getattr`` and items with ``[]``; dunder attributes (``__class__``...) are refused.
  Values are converted with ``str()``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from groq_magic.chat.errors import TemplateError

__all__ = ["find_references", "render_prompt"]

_IDENT = r"[^\W\d]\w*"
_INDEX = r"\[(?:-?\d+|\"[^\"\\\]]*\"|'[^'\\\]]*')\]"
_REFERENCE = re.compile(rf"\{{({_IDENT}(?:\.{_IDENT}|{_INDEX})*)\}}")
_STEP = re.compile(rf"\.({_IDENT})|\[(-?\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MISSING = object()


def render_prompt(text: str, namespace: Mapping[str, object]) -> str:
    """``text`` with every ``{reference}`` replaced by ``str(value)`` from ``namespace``."""
    out: list[str] = []
    for chunk, verbatim in _split_fences(text):
        out.append(chunk if verbatim else _render_chunk(chunk, namespace))
    return "".join(out)


def find_references(text: str) -> list[str]:
    """The reference expressions ``render_prompt`` would fill, in order (fences skipped)."""
    found: list[str] = []
    for chunk, verbatim in _split_fences(text):
        if not verbatim:
            found.extend(_scan(chunk, None))
    return found


def _split_fences(text: str) -> Iterator[tuple[str, bool]]:
    """Yield ``(chunk, is_fenced)`` pieces that join back into ``text``."""
    plain: list[str] = []
    fenced: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                if plain:
                    yield "".join(plain), False
                    plain = []
                fence = match.group(1)
                fenced.append(line)
            else:
                plain.append(line)
        else:
            fenced.append(line)
            # A closing fence: same character, at least as long, nothing after it.
            closes = (
                match is not None
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not line[match.end() :].strip()
            )
            if closes:
                yield "".join(fenced), True
                fenced = []
                fence = None
    if fenced:
        yield "".join(fenced), True
    if plain:
        yield "".join(plain), False


def _render_chunk(text: str, namespace: Mapping[str, object]) -> str:
    return "".join(_scan(text, namespace))


def _scan(text: str, namespace: Mapping[str, object] | None) -> list[str]:
    """Walk the braces once. With a namespace, return output pieces; without, the references."""
    out: list[str] = []
    refs: list[str] = []
    stack: list[bool] = []  # True = an escaped "{{", False = a brace typed as is
    i = 0
    n = len(text)
    start = 0
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                out.append(text[start:i] + "{")
                stack.append(True)
                i += 2
                start = i
                continue
            match = _REFERENCE.match(text, i)
            if match:
                expr = match.group(1)
                refs.append(expr)
                value = "" if namespace is None else _lookup(expr, namespace)
                out.append(text[start:i] + value)
                i = match.end()
                start = i
                continue
            stack.append(False)
            i += 1
            continue
        if ch == "}":
            if text.startswith("}}", i) and stack and stack[-1]:
                out.append(text[start:i] + "}")
                stack.pop()
                i += 2
                start = i
                continue
            if stack:
                stack.pop()
            i += 1
            continue
        i += 1
    out.append(text[start:])
    return refs if namespace is None else out


def _lookup(expr: str, namespace: Mapping[str, object]) -> str:
    """Resolve ``name(.attr|[index])*`` without evaluating anything."""
    name_match = re.match(_IDENT, expr)
    assert name_match is not None  # the reference pattern guarantees it
    name = name_match.group(0)
    if name not in namespace:
        raise TemplateError(
            f"{{{expr}}}: name {name!r} is not defined (write {{{{{expr}}}}} for literal braces)",
            expression=expr,
        )
    value: object = namespace[name]
    walked = name
    for step in _STEP.finditer(expr, name_match.end()):
        attr, index, dq_key, sq_key = step.groups()
        if attr is not None:
            value = _attribute(value, attr, expr, walked)
        else:
            key: object = (
                int(index) if index is not None else (dq_key if dq_key is not None else sq_key)
            )
            value = _item(value, key, expr, walked)
        walked += step.group(0)
    try:
        return value if isinstance(value, str) else str(value)
    except Exception as exc:  # a broken __str__ must not escape as a traceback
        raise TemplateError(
            f"{{{expr}}}: str() failed: {type(exc).__name__}: {exc}", expression=expr
        ) from None


def _attribute(value: object, attr: str, expr: str, walked: str) -> object:
    """``value.attr`` for the reference ``expr`` (``walked`` is the part read so far)."""
    if attr.startswith("__") and attr.endswith("__"):
        raise TemplateError(
            f"{{{expr}}}: dunder attribute {attr!r} is not allowed in a prompt",
            expression=expr,
        )
    try:
        got = getattr(value, attr, _MISSING)
    except Exception as exc:  # a property that raises must not become a traceback
        raise TemplateError(
            f"{{{expr}}}: reading {attr!r} failed: {type(exc).__name__}: {exc}",
            expression=expr,
        ) from None
    if got is _MISSING:
        raise TemplateError(
            f"{{{expr}}}: {type(value).__name__} {walked!r} has no attribute {attr!r}",
            expression=expr,
        )
    return got


def _item(value: object, key: object, expr: str, walked: str) -> object:
    """``value[key]`` for the reference ``expr`` (``walked`` is the part read so far)."""
    try:
        return value[key]  # type: ignore[index]
    except (KeyError, IndexError) as exc:
        kind = "index" if isinstance(exc, IndexError) else "key"
        raise TemplateError(
            f"{{{expr}}}: {kind} {key!r} not found in {walked!r} ({type(value).__name__})",
            expression=expr,
        ) from None
    except TypeError:
        raise TemplateError(
            f"{{{expr}}}: {type(value).__name__} {walked!r} cannot be indexed with {key!r}",
            expression=expr,
        ) from None
    except Exception as exc:  # a custom __getitem__ may raise anything
        raise TemplateError(
            f"{{{expr}}}: indexing {walked!r} failed: {type(exc).__name__}: {exc}",
            expression=expr,
        ) from None
