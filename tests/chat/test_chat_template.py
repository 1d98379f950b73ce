"""render_prompt: only exact references are filled; JSON, code and fences stay as typed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groq_magic.chat.errors import TemplateError
from groq_magic.chat.template import find_references, render_prompt


class Obj:
    def __init__(self) -> None:
        self.b = [0, 1, Leaf()]
        self.name = "obj"

    @property
    def boom(self) -> str:
        raise AttributeError("inner")

    @property
    def broken(self) -> str:
        raise ValueError("property failed")


class Leaf:
    c = "deep"


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


NS: dict[str, Any] = {
    "x": 5,
    "name": "Ann",
    "a": Obj(),
    "d": {"key": "v", "k'q": 1, "nested": {"n": [10, 20]}},
    "lst": [1, 2, 3],
    "none": None,
    "f": 0.5,
    "bad": BadStr(),
    "_private": "p",
    "g": type("G", (), {"__getitem__": lambda self, k: 1 / 0})(),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello {name}!", "Hello Ann!"),
        ("{x}{x}", "55"),
        ("{a.name}", "obj"),
        ("{lst[0]} and {lst[-1]}", "1 and 3"),
        ('{d["key"]}', "v"),
        ("{d['key']}", "v"),
        ("{a.b[2].c}", "deep"),
        ('{d["nested"]["n"][1]}', "20"),
        ("{none} {f} {lst}", "None 0.5 [1, 2, 3]"),
        ("{_private}", "p"),
        ("no braces at all", "no braces at all"),
        ("", ""),
    ],
)
def test_references_are_filled(text: str, expected: str) -> None:
    assert render_prompt(text, NS) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '{"a": {"b": 1}}',
        '[{"a": 1}, {"b": [1, 2]}]',
        "{ x }",
        "{x }",
        "{ x}",
        "{0}",
        "{1,2}",
        "{}",
        "{ }",
        "{x:>3}",
        "{x!r}",
        "{d[key]}",
        "{x.}",
        "{x[}",
        "{lst[0}",
        "{a b}",
        "function f() { return 1; }",
        "if (a) { if (b) { go(); }}",
        "struct S {}; int main() { S s{}; }",
        "set = {1, 2, 3}",
        "unbalanced { here",
        "unbalanced } here",
        "}} at start",
        "} {",
    ],
)
def test_non_references_stay_as_typed(text: str) -> None:
    assert render_prompt(text, NS) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{literal}}", "{literal}"),
        ("{{x}}", "{x}"),
        ("{{{x}}}", "{5}"),
        ("{{ name }}", "{ name }"),
        ("{{", "{"),
        ("{{{{", "{{"),
        ('{{"a": {"b": 1}}}', '{"a": {"b": 1}}'),
        ('{"a": {"b": 1}}', '{"a": {"b": 1}}'),
        ("}}", "}}"),
    ],
)
def test_escapes(text: str, expected: str) -> None:
    assert render_prompt(text, NS) == expected


def test_reference_inside_json_is_filled_and_json_kept() -> None:
    text = '{"name": "{name}", "n": {x}, "inner": {"v": {lst[1]}}}'
    assert render_prompt(text, NS) == '{"name": "Ann", "n": 5, "inner": {"v": 2}}'


def test_inline_backticks_are_not_special() -> None:
    assert render_prompt("Explain `{name}`", NS) == "Explain `Ann`"


def test_fenced_code_is_left_alone_entirely() -> None:
    text = "Fix this {name}:\n```js\nfunction f() { return {undefined_name}; } {{x}}\n```\nand {x}."
    assert render_prompt(text, NS) == (
        "Fix this Ann:\n```js\nfunction f() { return {undefined_name}; } {{x}}\n```\nand 5."
    )


def test_tilde_fence_and_longer_fence() -> None:
    text = "~~~\n{nope}\n~~~\n````\n```\n{nope}\n````\n{x}"
    assert render_prompt(text, NS) == "~~~\n{nope}\n~~~\n````\n```\n{nope}\n````\n5"


def test_unclosed_fence_runs_to_the_end() -> None:
    text = "{x}\n```python\nprint({nope})\n"
    assert render_prompt(text, NS) == "5\n```python\nprint({nope})\n"


def test_fence_with_text_after_is_not_a_closer() -> None:
    text = "```\n```not closing {nope}\n```\n{x}"
    assert render_prompt(text, NS) == "```\n```not closing {nope}\n```\n5"


def test_indented_four_spaces_is_not_a_fence() -> None:
    assert render_prompt("    ```\n{x}", NS) == "    ```\n5"


def test_braces_inside_a_reference_value_are_not_rescanned() -> None:
    assert render_prompt("{v}", {"v": "{x} {{"}) == "{x} {{"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{y}", "{y}: name 'y' is not defined (write {{y}} for literal braces)"),
        ("ok {x} then {missing.attr}", "name 'missing' is not defined"),
        ("{a.zz}", "{a.zz}: Obj 'a' has no attribute 'zz'"),
        ("{a.b[9]}", "{a.b[9]}: index 9 not found in 'a.b' (list)"),
        ('{d["nope"]}', "key 'nope' not found in 'd' (dict)"),
        ("{x[0]}", "int 'x' cannot be indexed with 0"),
        ('{lst["k"]}', "list 'lst' cannot be indexed with 'k'"),
        ("{a.__class__}", "dunder attribute '__class__' is not allowed"),
        ("{a.b.__len__}", "dunder attribute '__len__'"),
        ("{bad}", "{bad}: str() failed: RuntimeError: no str for you"),
        ("{a.boom}", "Obj 'a' has no attribute 'boom'"),
        ("{a.broken}", "{a.broken}: reading 'broken' failed: ValueError: property failed"),
        ("{g[0]}", "{g[0]}: indexing 'g' failed: ZeroDivisionError: division by zero"),
    ],
)
def test_errors_are_one_line_and_name_the_expression(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_prompt(text, NS)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert info.value.expression is not None
    assert info.value.expression in message


def test_no_code_is_executed() -> None:
    calls: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> str:
            calls.append(name)
            return "attr"

    assert render_prompt("{s.x} {s.y()}", {"s": Spy()}) == "attr {s.y()}"
    assert calls == ["x"]


def test_error_raised_before_any_partial_output_matters() -> None:
    # The whole prompt fails on one bad reference; nothing half-rendered escapes.
    with pytest.raises(TemplateError):
        render_prompt("{x} {y} {x}", NS)


def test_find_references_lists_expressions_skipping_fences() -> None:
    text = 'Use {a.b[0]} and {d["key"]} {{not}} {"json": 1}\n```\n{fenced}\n```\n{x}'
    assert find_references(text) == ["a.b[0]", 'd["key"]', "x"]


def test_namespace_can_be_any_mapping() -> None:
    from types import MappingProxyType

    assert render_prompt("{x}", MappingProxyType({"x": "y"})) == "y"


# ---- properties --------------------------------------------------------------------

_BRACEY = st.text(alphabet="{}[]\"'.:! ax0_\n`~-", max_size=60)


class Anything:
    """Every attribute and item exists; str() is fixed."""

    def __getattr__(self, name: str) -> Anything:
        return self

    def __getitem__(self, key: object) -> Anything:
        return self

    def __str__(self) -> str:
        return "V"


@given(_BRACEY)
def test_text_without_references_or_escapes_is_unchanged(text: str) -> None:
    if "{{" not in text and not find_references(text):
        assert render_prompt(text, {}) == text


@given(_BRACEY)
def test_resolvable_references_never_raise_and_vanish(text: str) -> None:
    refs = find_references(text)
    namespace = {r.split(".")[0].split("[")[0]: Anything() for r in refs}
    rendered = render_prompt(text, namespace)
    assert len(rendered) <= len(text)
    if "{{" not in text:
        assert rendered.count("V") - text.count("V") == len(refs)
