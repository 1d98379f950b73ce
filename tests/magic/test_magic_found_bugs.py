"""Magic tests that fail because of bugs in groq_magic/ (kept failing for the lead to fix).

Each test states the expected behaviour; the report that came with this file names the
observed behaviour and a suggested fix. None is skipped or marked xfail, by the house rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import assert_clean, sent, stream
from magic_imports import load_ext_in_fresh_process
from scripted_server import Reply


def test_double_dash_makes_a_subcommand_word_a_prompt(groq: Any) -> None:
    # The docstring promises: ``%groq -- history of Rome`` asks about history.
    groq.server.enqueue(stream(["Rome..."]))
    run = groq.run("%groq -- history of Rome", cell_id="rome")
    assert run.error is None, run.err
    assert sent(groq.server)["messages"][-1]["content"] == "history of Rome"


def test_unquoted_stop_escape_becomes_a_newline(groq: Any) -> None:
    # The help says "\\n is a newline"; typed bare, shlex eats the backslash first.
    groq.server.enqueue(stream(["1, 2"]))
    run = groq.run("%%groq --stop \\n\nCount.", cell_id="esc")
    assert run.error is None, run.err
    assert sent(groq.server)["stop"] == "\n"


def test_models_failure_is_one_line_with_a_hint(groq: Any) -> None:
    # API errors from %groq models skip explain_error: no hint (how to set the key).
    groq.server.route(
        "GET",
        "/v1/models",
        Reply(status=401, json={"error": {"message": "Invalid API Key",
                                          "type": "invalid_request_error",
                                          "code": "invalid_api_key"}}),
    )
    run = groq.run("%groq models")
    line = run.usage_error
    assert "401" in line
    assert "GROQ_API_KEY" in line
    assert_clean(run.everything)


def test_the_fake_key_itself_on_a_line_is_refused(groq: Any) -> None:
    # tests/keys.py's FAKE_KEY ("gsk_test_SECRETKEY123") has an underscore after gsk_,
    # which session._KEY_PATTERN does not accept: the key is sent as the prompt.
    groq.server.enqueue(stream(["sent anyway"]))  # so the bug fails fast instead of retrying
    run = groq.run(f"%groq {FAKE_KEY}", cell_id="key")
    line = run.usage_error
    assert "key" in line
    assert FAKE_KEY not in line
    assert groq.server.requests == []
    assert groq.turns() == []


@pytest.mark.parametrize("module", ["httpx", "pydantic", "groq_magic.client"])
def test_load_ext_leaves_the_protocol_stack_for_first_use(module: str) -> None:
    # DESIGN: "%load_ext groq_magic imports little (the protocol layer and ipywidgets load
    # when first needed)". magics.py imports groq_magic.chat/.client at module level, which
    # pulls in pydantic and httpx: ~250 ms against a 150 ms budget (bench/import_cost.py).
    loaded = load_ext_in_fresh_process()
    assert loaded["heavy"][module] is False, f"{module} imported by %load_ext"
