"""No key reaches the store's files: not the database, not its WAL, not its shared memory.

The exchange carries the fake key everywhere a careless caller could put it: header-like
fields of the request, the prompt (plain, after a newline, inside image-part text), the
answer, the reasoning, tool-call arguments, the error, the options and a batch's metadata.
The test then reads the raw bytes of every file SQLite wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from keys import FAKE_KEY, SECRET_MARKERS

from groq_magic.store import Exchange, Store, scrub_text
from groq_magic.store._exchange import dumps

OPENAI_SHAPED = "sk-test-ABCDEFGHIJKLMNOP1234"


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _leaky_exchange() -> Exchange:
    return Exchange(
        request={
            "model": "llama-3.3-70b-versatile",
            "messages": [
                {"role": "system", "content": f"key={FAKE_KEY}"},
                {"role": "user", "content": f"My key is {FAKE_KEY}, and\n{FAKE_KEY} again"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": f"Authorization: Bearer {FAKE_KEY}"},
                        {"type": "image_url", "image_url": {"url": f"https://x/{FAKE_KEY}.png"}},
                    ],
                },
            ],
            "headers": {"Authorization": f"Bearer {FAKE_KEY}", "X-Api-Key": FAKE_KEY},
            "api_key": FAKE_KEY,
            "extra_body": {"user": FAKE_KEY, "note": f"bearer {FAKE_KEY}", "o": OPENAI_SHAPED},
        },
        prompt=f"tell me about {FAKE_KEY}",
        answer=f"Your key {FAKE_KEY} should stay secret.",
        reasoning=f"The user pasted {FAKE_KEY}.",
        tool_calls=[{"function": {"name": "f", "arguments": f'{{"k": "{FAKE_KEY}"}}'}}],
        error=f"401 invalid_api_key: {FAKE_KEY}",
        options={"system": FAKE_KEY, "extra": {"api_key": FAKE_KEY}},
        user_message={"role": "user", "content": FAKE_KEY},
        messages=[{"role": "tool", "content": FAKE_KEY}],
        system=f"sys {FAKE_KEY}",
        model="llama-3.3-70b-versatile",
        base_url="https://api.groq.com/openai/v1",
    )


def test_the_key_is_in_none_of_the_files(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = Store(path)
    assert store.record(_leaky_exchange()) == 1
    assert store.record_batch("batch_1", "https://api.groq.com/openai/v1", {"k": FAKE_KEY})
    # Before the WAL is checkpointed, the rows live in the -wal file: read every file.
    files = _files(path)
    assert Path(f"{path}-wal") in files
    for file in files:
        data = file.read_bytes()
        for marker in (*SECRET_MARKERS, OPENAI_SHAPED):
            assert marker.encode() not in data, f"{marker!r} found in {file.name}"
    store.close()  # checkpoints the WAL into the main file
    data = path.read_bytes()
    for marker in (*SECRET_MARKERS, OPENAI_SHAPED):
        assert marker.encode() not in data
    # What is kept around the redactions is still useful.
    found = Store(path).get(1)
    assert found.answer == "Your key [redacted] should stay secret."
    assert found.prompt == "tell me about [redacted]"
    assert "headers" in found.request
    assert "api_key" not in found.request


def test_scrub_helpers() -> None:
    assert scrub_text(f"a {FAKE_KEY} b") == "a [redacted] b"
    assert scrub_text(f"x\n{FAKE_KEY}") == "x\n[redacted]"
    assert scrub_text("Bearer tokens are explained in RFC 6750") == (
        "Bearer tokens are explained in RFC 6750"
    )
    assert scrub_text("task-scheduler-configuration") == "task-scheduler-configuration"
    original = {"messages": [{"content": FAKE_KEY}], "api_key": FAKE_KEY}
    # What the store writes: credential fields dropped, keys in text masked.
    assert json.loads(dumps(original)) == {"messages": [{"content": "[redacted]"}]}
    assert original["api_key"] == FAKE_KEY  # the caller's objects are not touched
