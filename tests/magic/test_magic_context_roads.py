"""``--context`` and ``--code`` on every road, and what ``%groq usage`` says the cache saved.

Contexts are built in the one preparation of a turn, so a cell, ``%groq retry``, the
sliders panel, a compare and ``groq_magic.sweep`` all send them (a retry sends the
context its turn recorded), and the key guard refuses a key in one on every road.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ipykernel.zmqshell import ZMQInteractiveShell
from keys import FAKE_KEY
from magic_helpers import CellRun
from scripted_server import chunk_events, completion_reply, sse_reply

ROADS = ("cell", "retry", "panel", "compare", "sweep")
CODE = "```python\nprint(sales.shape)\n```"


@pytest.fixture
def roads(groq: Any) -> Iterator[Any]:
    """The harness with a DataFrame in the notebook; the shell class restored after."""
    original = groq.shell.__class__
    groq.ns["sales"] = pd.DataFrame({"units": [3, 5], "region": ["north", "south"]})
    yield groq
    groq.shell.__class__ = original


def run_road(groq: Any, road: str, flags: str, answers: int = 2) -> CellRun:
    """Ask about ``sales`` with ``flags`` on ``road``."""
    prompt = "How many units?"
    if road == "retry":
        groq.server.enqueue(completion_reply(CODE))
        first = groq.run(f"%%groq --no-stream {flags}\n{prompt}")
        assert first.error is None, first.err
        groq.server.requests.clear()
        groq.server.enqueue(completion_reply(CODE))
        return groq.run("%groq retry")
    groq.server.enqueue(*(completion_reply(CODE) for _ in range(answers)))
    if road == "cell":
        return groq.run(f"%%groq --no-stream {flags}\n{prompt}")
    if road == "panel":
        groq.shell.__class__ = ZMQInteractiveShell  # a live kernel: the real widget panel
        return groq.run(f"%%groq --ui --no-stream {flags}\n{prompt}")
    if road == "compare":
        return groq.run(f"%%groq --no-stream --compare m1,m2 {flags}\n{prompt}")
    code = ", code=True" if "--code" in flags else ""
    return groq.run(
        "import groq_magic\n"
        f"_table = groq_magic.sweep({prompt!r}, namespace=globals(), stream=False,"
        f" context='sales', keep_results=True{code})"
    )


def user_texts(groq: Any) -> list[str]:
    bodies = [json.loads(r.body) for r in groq.server.requests if r.path.endswith("/completions")]
    return [body["messages"][-1]["content"] for body in bodies]


@pytest.mark.parametrize("road", ROADS)
def test_a_context_is_sent_on_every_road(roads: Any, road: str) -> None:
    run = run_road(roads, road, "-x sales --code")
    assert run.error is None, run.err
    texts = user_texts(roads)
    assert texts
    for text in texts:
        assert '<context name="sales" kind="DataFrame">' in text
        assert "- units: int64, 0 nulls" in text
        assert text.endswith("single fenced ```python block.")
    if road in ("cell", "retry"):
        result = roads.ns["_groq"]
    elif road == "sweep":
        result = roads.ns["_table"]["result"][0]
    else:
        return  # the panel and the compare show their runs; their results are not kept
    assert [block.name for block in result.context] == ["sales"]
    assert result.code == "print(sales.shape)"


@pytest.mark.parametrize("road", [r for r in ROADS if r != "retry"])
def test_a_key_in_a_context_is_refused_on_every_road(roads: Any, road: str) -> None:
    roads.ns["sales"] = {"token": FAKE_KEY}
    run = run_road(roads, road, "-x sales")
    assert user_texts(roads) == []
    shown = run.err + run.out + repr(run.error)
    assert "--context sales holds something shaped like an API key" in shown
    assert FAKE_KEY not in shown


@pytest.fixture
def db(groq: Any, tmp_path: Path) -> Path:
    path = tmp_path / "exchanges.sqlite"
    assert groq.run(f"%config GroqMagics.store = {str(path)!r}").error is None
    return path


def test_usage_shows_what_the_prompt_cache_saved(groq: Any, db: Path) -> None:
    usage = {
        "prompt_tokens": 3000,
        "completion_tokens": 10,
        "total_tokens": 3010,
        "prompt_tokens_details": {"cached_tokens": 2000},
    }
    for model in ("openai/gpt-oss-20b", "llama-3.3-70b-versatile", "mystery-model"):
        groq.server.enqueue(sse_reply(chunk_events(["Hi."], model=model, x_groq_usage=usage)))
        assert groq.run(f"%%groq -m {model}\nHello").error is None
    rows = {row["model"]: row for row in groq.run("%groq usage").result.rows}
    # gpt-oss-20b: 2,000 cached tokens at $0.0375 instead of $0.075 per million.
    assert rows["openai/gpt-oss-20b"]["cached_tokens"] == 2000
    assert rows["openai/gpt-oss-20b"]["saved"] == "$0.000075"
    assert rows["llama-3.3-70b-versatile"]["saved"] == "$0"  # no cheaper cached rate
    assert rows["mystery-model"]["saved"] == "unknown"  # never zero when unknown
    assert rows["total"]["saved"] == "unknown"


def test_a_sweep_describes_its_context_once_for_all_its_rows(
    roads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import groq_magic.chat.context as context_module

    described: list[object] = []
    original = context_module.describe

    def counting(value: object, **kwargs: Any) -> Any:
        described.append(value)
        return original(value, **kwargs)

    monkeypatch.setattr(context_module, "describe", counting)
    roads.server.enqueue(*(completion_reply("ok") for _ in range(6)))
    run = roads.run(
        "import groq_magic\n"
        "_table = groq_magic.sweep(['One?', 'Two?', 'Three?'], namespace=globals(),"
        " stream=False, context='sales', temperature=[0, 1])"
    )
    assert run.error is None, run.err
    texts = user_texts(roads)
    assert len(texts) == 6
    assert all('<context name="sales"' in text for text in texts)
    assert described == [roads.ns["sales"]]
