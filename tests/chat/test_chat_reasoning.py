"""ThinkSplitter: inline <think> blocks split from the answer, whatever the chunk boundaries."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groq_magic.chat.reasoning import ThinkSplitter, split_reasoning

# (content, expected reasoning, expected answer)
EXAMPLES = [
    ("<think>\nLet me count.\n</think>\n\n1, 2, 3", "\nLet me count.\n", "1, 2, 3"),
    ("\n\n<think>hm</think>Answer", "hm", "Answer"),
    ("Sure. <think>plan</think>  Done.", "plan", "Sure. Done."),
    ("<think>a</think>x<think>b</think>\ny", "ab", "xy"),
    ("<think>cut off in the mid</thi", "cut off in the mid</thi", ""),
    ("no thinking at all, a < b and <thin ice>", "", "no thinking at all, a < b and <thin ice>"),
    ("  leading space kept", "", "  leading space kept"),
    ("ends with a partial <thi", "", "ends with a partial <thi"),
    ("<think></think>", "", ""),
    ("   ", "", "   "),
    ("", "", ""),
]


def run(pieces: list[str]) -> tuple[str, str]:
    """Feed ``pieces`` and flush; return the concatenated deltas."""
    splitter = ThinkSplitter()
    reasoning: list[str] = []
    answer: list[str] = []
    for piece in pieces:
        r, a = splitter.feed(piece)
        reasoning.append(r)
        answer.append(a)
    r, a = splitter.flush()
    reasoning.append(r)
    answer.append(a)
    assert (splitter.reasoning, splitter.answer) == ("".join(reasoning), "".join(answer))
    return "".join(reasoning), "".join(answer)


def cuts(text: str, positions: tuple[int, ...]) -> list[str]:
    bounds = [0, *positions, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize(("text", "reasoning", "answer"), EXAMPLES)
def test_whole_text(text: str, reasoning: str, answer: str) -> None:
    assert split_reasoning(text) == (reasoning, answer)


@pytest.mark.parametrize(("text", "reasoning", "answer"), EXAMPLES)
def test_every_one_and_two_cut_split(text: str, reasoning: str, answer: str) -> None:
    positions = range(len(text) + 1)
    for count in (1, 2):
        for where in itertools.combinations_with_replacement(positions, count):
            assert run(cuts(text, where)) == (reasoning, answer), where


def test_character_by_character() -> None:
    text = EXAMPLES[0][0]
    assert run(list(text)) == EXAMPLES[0][1:]


def test_no_think_block_adds_no_latency() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == ("", "Hello")
    assert splitter.feed(" world, 2 < 3") == ("", " world, 2 < 3")
    # Only a possible start of "<think>" waits for the next fragment.
    assert splitter.feed(" and <") == ("", " and ")
    assert splitter.feed("b>") == ("", "<b>")
    assert splitter.feed(" end <th") == ("", " end ")
    assert splitter.flush() == ("", "<th")


def test_reasoning_streams_while_inside() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<th") == ("", "")
    assert splitter.feed("ink>step one") == ("step one", "")
    assert splitter.feed(", step two</th") == (", step two", "")
    # Held back as a possible "</think>", released as reasoning when it is not one.
    assert splitter.feed("ought> and on") == ("</thought> and on", "")
    assert splitter.feed("</th") == ("", "")
    assert splitter.feed("ink>\n\n") == ("", "")
    assert splitter.feed("\nThe answer") == ("", "The answer")
    assert splitter.flush() == ("", "")


def test_unterminated_block_keeps_reasoning_on_flush() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>still thinking</") == ("still thinking", "")
    assert splitter.flush() == ("</", "")
    assert splitter.answer == ""
    assert splitter.reasoning == "still thinking</"


def test_leading_whitespace_is_released_when_no_think_follows() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("\n\n") == ("", "")
    assert splitter.feed("Hi") == ("", "\n\nHi")


def test_other_tags_are_text() -> None:
    assert split_reasoning("<Think>x</Think> <thinking>y</thinking>") == (
        "",
        "<Think>x</Think> <thinking>y</thinking>",
    )


PIECES = st.sampled_from(
    ["<think>", "</think>", "<", "</", "<th", "ink>", "think", ">", "/", " ", "\n", "a", "b."]
)


@given(
    st.lists(PIECES, max_size=30).map("".join),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_split_equals_the_whole(text: str, raw_cuts: list[int]) -> None:
    where = tuple(sorted(c % (len(text) + 1) for c in raw_cuts))
    assert run(cuts(text, where)) == split_reasoning(text)


@given(st.lists(PIECES, max_size=30).map("".join))
def test_only_tags_and_whitespace_are_dropped(text: str) -> None:
    reasoning, answer = split_reasoning(text)
    if "<think>" not in text:
        assert (reasoning, answer) == ("", text)
    # "a", "b" and "." never belong to a tag, so every one of them must come out.
    assert Counter(c for c in reasoning + answer if c in "ab.") == Counter(
        c for c in text if c in "ab."
    )
