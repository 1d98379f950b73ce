"""The seed documents' SDK examples, run as written through Groq/AsyncGroq.

Each example reads its configuration the way a user's would: ``GROQ_API_KEY`` and
``GROQ_BASE_URL`` (a bare host, as for the official SDK, so the client appends ``/openai/v1``).
The request bodies are also compared with what the official ``groq`` SDK sends for the same call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from keys import FAKE_KEY
from pydantic import BaseModel
from scripted_server import (
    ScriptedServer,
    chunk_events,
    completion_reply,
    sse_reply,
)

from groq_magic.client import AsyncGroq, Groq

ANSWER = ["Fast", " language", " models", " matter", "."]
PATH = "/openai/v1/chat/completions"
SYSTEM_AND_USER = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Explain the importance of fast language models"},
]


@pytest.fixture(autouse=True)
def _user_environment(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", server.url)


def test_basic_chat_completion(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.enqueue(completion_reply("Fast models enable real-time apps."))

    client = Groq()
    chat_completion = client.chat.completions.create(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain the importance of fast language models"},
        ],
        model="llama-3.3-70b-versatile",
    )
    print(chat_completion.choices[0].message.content)
    client.close()  # (not in the seed) so the test leaves no socket behind

    assert capsys.readouterr().out == "Fast models enable real-time apps.\n"
    (request,) = server.requests
    assert request.path == PATH
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert request.json() == {"messages": SYSTEM_AND_USER, "model": "llama-3.3-70b-versatile"}


def test_streaming_chat_completion(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.enqueue(sse_reply(chunk_events(ANSWER)))

    client = Groq()
    stream = client.chat.completions.create(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain the importance of fast language models"},
        ],
        model="llama-3.3-70b-versatile",
        temperature=0.5,
        max_completion_tokens=1024,
        top_p=1,
        stop=None,
        stream=True,
    )
    for chunk in stream:
        print(chunk.choices[0].delta.content, end="")
    client.close()

    # As with the official SDK, the final chunk's empty delta prints "None".
    assert capsys.readouterr().out == "".join(ANSWER) + "None"
    body = server.requests[0].json()
    assert body["stream"] is True
    assert (body["temperature"], body["max_completion_tokens"], body["top_p"]) == (0.5, 1024, 1)
    assert body.get("stop") is None


def test_streaming_skipping_empty_deltas(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.enqueue(sse_reply(chunk_events(ANSWER)))

    client = Groq()
    stream = client.chat.completions.create(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain quantum computing"},
        ],
        model="llama-3.3-70b-versatile",
        stream=True,
    )
    for chunk in stream:
        content = chunk.choices[0].delta.content
        if content:
            print(content, end="")
    client.close()

    assert capsys.readouterr().out == "".join(ANSWER)


def test_stop_sequence(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.enqueue(completion_reply("1, 2, 3, 4, 5"))

    client = Groq()
    chat_completion = client.chat.completions.create(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {
                "role": "user",
                "content": 'Count to 10.  Your response must begin with "1, ".  '
                "example: 1, 2, 3, ...",
            },
        ],
        model="llama-3.3-70b-versatile",
        temperature=0.5,
        max_completion_tokens=1024,
        top_p=1,
        stop=", 6",
        stream=False,
    )
    print(chat_completion.choices[0].message.content)
    client.close()

    assert capsys.readouterr().out == "1, 2, 3, 4, 5\n"
    body = server.requests[0].json()
    assert body["stop"] == ", 6"
    assert body.get("stream") in (None, False)


def test_older_max_tokens_spelling(server: ScriptedServer) -> None:
    server.enqueue(completion_reply("ok"))

    client = Groq()
    chat_completion = client.chat.completions.create(
        messages=SYSTEM_AND_USER,
        model="llama3-8b-8192",
        temperature=0.5,
        max_tokens=1024,
        top_p=1,
        stop=None,
        stream=False,
    )
    client.close()

    assert chat_completion.choices[0].message.content == "ok"
    body = server.requests[0].json()
    assert body["max_tokens"] == 1024
    assert "max_completion_tokens" not in body


def test_async_chat_completion(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.enqueue(completion_reply("Async answer."))

    async def main() -> None:
        client = AsyncGroq()

        chat_completion = await client.chat.completions.create(
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Explain the importance of fast language models"},
            ],
            model="llama-3.3-70b-versatile",
            temperature=0.5,
            max_completion_tokens=1024,
            top_p=1,
            stop=None,
            stream=False,
        )
        print(chat_completion.choices[0].message.content)
        await client.aclose()

    asyncio.run(main())
    assert capsys.readouterr().out == "Async answer.\n"
    assert server.requests[0].path == PATH


def test_async_streaming_chat_completion(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.enqueue(sse_reply(chunk_events(ANSWER)))

    async def main() -> None:
        client = AsyncGroq()

        stream = await client.chat.completions.create(
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Explain the importance of fast language models"},
            ],
            model="llama-3.3-70b-versatile",
            temperature=0.5,
            max_completion_tokens=1024,
            top_p=1,
            stop=None,
            stream=True,
        )
        async for chunk in stream:
            print(chunk.choices[0].delta.content, end="")
        await client.aclose()

    asyncio.run(main())
    assert capsys.readouterr().out == "".join(ANSWER) + "None"


class Ingredient(BaseModel):
    name: str
    quantity: str
    quantity_unit: str | None


class Recipe(BaseModel):
    recipe_name: str
    ingredients: list[Ingredient]
    directions: list[str]


RECIPE = {
    "recipe_name": "Apple Pie",
    "ingredients": [
        {"name": "apples", "quantity": "6", "quantity_unit": None},
        {"name": "flour", "quantity": "2", "quantity_unit": "cups"},
    ],
    "directions": ["Make the crust.", "Bake for 45 minutes."],
}


def test_json_mode_recipe(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.enqueue(completion_reply(json.dumps(RECIPE, indent=2)))
    groq = Groq()

    def get_recipe(recipe_name: str) -> Recipe:
        chat_completion = groq.chat.completions.create(
            messages=[
                {
                    "role": "system",
                    "content": "You are a recipe database that outputs recipes in JSON.\n"
                    " The JSON object must use the schema: "
                    f"{json.dumps(Recipe.model_json_schema(), indent=2)}",
                },
                {"role": "user", "content": f"Fetch a recipe for {recipe_name}"},
            ],
            model="llama3-8b-8192",
            temperature=0,
            stream=False,
            response_format={"type": "json_object"},
        )
        return Recipe.model_validate_json(chat_completion.choices[0].message.content or "")

    def print_recipe(recipe: Recipe) -> None:
        print("Recipe:", recipe.recipe_name)
        print("\nIngredients:")
        for ingredient in recipe.ingredients:
            print(f"- {ingredient.name}: {ingredient.quantity} {ingredient.quantity_unit or ''}")
        print("\nDirections:")
        for step, direction in enumerate(recipe.directions, start=1):
            print(f"{step}. {direction}")

    print_recipe(get_recipe("apple pie"))
    groq.close()

    out = capsys.readouterr().out
    assert out.startswith("Recipe: Apple Pie\n")
    assert "- flour: 2 cups\n" in out
    assert "2. Bake for 45 minutes.\n" in out
    body = server.requests[0].json()
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0
    assert '"recipe_name"' in body["messages"][0]["content"]


# -- the same calls through the official SDK: the wire bodies must agree ---------------------

OFFICIAL_CALLS: list[dict[str, Any]] = [
    {"messages": SYSTEM_AND_USER, "model": "llama-3.3-70b-versatile"},
    {"messages": SYSTEM_AND_USER, "model": "m", "temperature": 0.5, "max_completion_tokens": 1024,
     "top_p": 1, "stop": ", 6", "seed": 3},
    {"messages": SYSTEM_AND_USER, "model": "m", "stop": [", 6", ", six"],
     "response_format": {"type": "json_object"}, "stream": False},
    {"messages": SYSTEM_AND_USER, "model": "m", "stream": True, "seed": 1},
    {"messages": SYSTEM_AND_USER, "model": "m", "tool_choice": "auto",
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
]  # fmt: skip


@pytest.mark.parametrize("call", OFFICIAL_CALLS)
def test_same_body_as_the_official_sdk(server: ScriptedServer, call: dict[str, Any]) -> None:
    import groq

    for _ in range(2):
        reply = sse_reply(chunk_events(ANSWER)) if call.get("stream") else completion_reply()
        server.enqueue(reply)

    official = groq.Groq(api_key=FAKE_KEY, base_url=server.url, max_retries=0)
    ours = Groq()
    results = []
    for client in (official, ours):
        result = client.chat.completions.create(**call)
        if call.get("stream"):
            results.append("".join(c.choices[0].delta.content or "" for c in result if c.choices))
        else:
            results.append(result.choices[0].message.content)
        client.close()

    theirs_request, ours_request = server.requests
    assert ours_request.path == theirs_request.path == PATH

    def meaningful(body: dict[str, Any]) -> dict[str, Any]:
        # null and "stream": false mean the same as leaving the field out.
        return {k: v for k, v in body.items() if v is not None and (k, v) != ("stream", False)}

    assert meaningful(ours_request.json()) == meaningful(theirs_request.json())
    assert ours_request.headers["authorization"] == theirs_request.headers["authorization"]
    assert results[0] == results[1]
