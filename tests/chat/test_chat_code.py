"""``ChatResult.code``: the code taken out of an answer, and only code."""

from __future__ import annotations

import pytest

from groq_magic.chat import ChatResult
from groq_magic.chat.code import extract_code


def test_fenced_blocks_in_the_language_or_bare_are_joined_in_order() -> None:
    answer = (
        "First load it:\n```python\nimport pandas as pd\n```\nThen install:\n"
        "```bash\npip install pandas\n```\nAnd:\n```\ndf = pd.read_csv('a.csv')\n```\nDone."
    )
    assert extract_code(answer) == "import pandas as pd\n\ndf = pd.read_csv('a.csv')"


@pytest.mark.parametrize("tag", ["py", "Python", "python3", "ipython", "  python  "])
def test_the_languages_usual_tags(tag: str) -> None:
    assert extract_code(f"```{tag}\nx = 1\n```") == "x = 1"


def test_tilde_fences_longer_fences_and_an_unclosed_fence() -> None:
    assert extract_code("~~~python\nx = 1\n~~~") == "x = 1"
    nested = "````python\ns = '''\n```\n'''\n````"
    assert extract_code(nested) == "s = '''\n```\n'''"
    # An answer cut short (finish_reason length) leaves its fence open.
    assert extract_code("Here:\n```python\nfor i in range(3):\n    print(i)") == (
        "for i in range(3):\n    print(i)"
    )


def test_no_code_is_none_and_prose_is_never_taken_for_code() -> None:
    assert extract_code("The answer is 42.") is None
    assert extract_code("The answer is 42.", whole=True) is None
    assert extract_code("Hello", whole=True) is None  # a bare word parses, but is not code
    assert extract_code("```bash\nls\n```", whole=True) is None
    assert extract_code("```python\n\n```", whole=True) is None


def test_asked_for_code_an_unfenced_answer_that_parses_is_taken_whole() -> None:
    assert extract_code("x = 1\nprint(x)\n", whole=True) == "x = 1\nprint(x)"
    assert extract_code("x = 1\nprint(x)\n") is None  # not asked: only fences count


def test_chat_result_code_follows_whether_code_was_asked() -> None:
    result = ChatResult("df.head()")
    assert result.code is None
    result.code_language = "python"
    assert result.code == "df.head()"
    assert ChatResult("See:\n```python\nprint(1)\n```").code == "print(1)"
