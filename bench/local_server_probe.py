"""Probe what the embedded llama.cpp server does with the Groq request fields we rely on.

Run: ``.venv/bin/python bench/local_server_probe.py`` (starts the bundled model on a
free loopback port and stops it afterwards), or pass ``--base-url URL`` to probe a
server that is already running. Sends raw HTTP (no translation), then the same
requests through ``LocalCompatTransport``, and prints one line per finding. The
findings are recorded in ``groq_magic/local/adapter.py``; rerun this after
upgrading llama-cpp-python.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import httpx

from groq_magic.local.adapter import LocalCompatTransport
from groq_magic.local.server import LOCAL_MODEL_NAME, LocalServer

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "user", "content": "Describe a person as JSON with a name and an age."}]
LONG = [{"role": "user", "content": "Write a long story about a dragon."}]


def _chat(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/chat/completions", json=body)


def _usage(response: httpx.Response) -> Any:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:160]}"
    return response.json().get("usage")


def _stream(client: httpx.Client, body: dict[str, Any]) -> tuple[int, Any, str]:
    """(number of data frames, the last usage seen or None, finish_reason)."""
    frames, usage, finish = 0, None, ""
    with client.stream("POST", "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            frames += 1
            chunk = json.loads(line[5:])
            usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage") or usage
            for choice in chunk.get("choices") or []:
                finish = choice.get("finish_reason") or finish
    return frames, usage, finish


def probe(base_url: str, translate: bool) -> None:
    """Print one line per field, straight to the server or through LocalCompatTransport."""
    label = "adapter" if translate else "raw"

    def body(**fields: Any) -> dict[str, Any]:
        return {"model": LOCAL_MODEL_NAME, **fields}

    transport = LocalCompatTransport() if translate else None
    with httpx.Client(base_url=base_url, timeout=120, transport=transport) as client:
        r = _chat(client, body(messages=LONG, max_completion_tokens=5))
        print(f"[{label}] max_completion_tokens=5 -> usage {_usage(r)}")
        r = _chat(client, body(messages=LONG, max_tokens=5))
        print(f"[{label}] max_tokens=5 -> usage {_usage(r)}")
        schema_format = {
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": SCHEMA, "strict": True},
        }
        r = _chat(client, body(messages=MESSAGES, response_format=schema_format, max_tokens=60))
        content = r.json()["choices"][0]["message"]["content"] if r.is_success else r.text[:160]
        print(f"[{label}] response_format json_schema -> HTTP {r.status_code}: {content!r}")
        object_format = {"type": "json_object", "schema": SCHEMA}
        r = _chat(client, body(messages=MESSAGES, response_format=object_format, max_tokens=60))
        content = r.json()["choices"][0]["message"]["content"] if r.is_success else r.text[:160]
        print(f"[{label}] response_format json_object+schema -> HTTP {r.status_code}: {content!r}")
        r = _chat(
            client, body(messages=MESSAGES, response_format={"type": "json_object"}, max_tokens=40)
        )
        content = r.json()["choices"][0]["message"]["content"] if r.is_success else r.text[:160]
        print(f"[{label}] response_format json_object -> HTTP {r.status_code}: {content!r}")
        frames, usage, finish = _stream(client, body(messages=LONG, max_tokens=8, stream=True))
        print(f"[{label}] stream -> {frames} frames, finish {finish!r}, usage {usage}")
        frames, usage, finish = _stream(
            client,
            body(messages=LONG, max_tokens=8, stream=True, stream_options={"include_usage": True}),
        )
        print(f"[{label}] stream include_usage -> {frames} frames, usage {usage}")
        r = _chat(client, body(messages=LONG, max_tokens=5, model="some-other-name"))
        print(f"[{label}] unknown model name -> HTTP {r.status_code}")


def main() -> None:
    """Start (or use) a server and print the findings, raw then translated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="probe this server instead of starting one")
    args = parser.parse_args()
    server = None
    base_url = args.base_url
    if base_url is None:
        server = LocalServer()
        started = time.perf_counter()
        base_url = server.start()
        print(f"started {base_url} in {time.perf_counter() - started:.2f} s")
    try:
        probe(base_url, translate=False)
        probe(base_url, translate=True)
    finally:
        if server is not None:
            server.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
