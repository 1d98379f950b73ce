"""A tool round trip's own CPU, over loopback: our engine versus the bare minimum.

Issue 10's target: one tool round trip (the model asks for a call; the function runs;
its result goes back; the model answers) adds under 1 ms of our own CPU beyond the
function and the network, over 100 rounds.

The server runs in a child process (its CPU is not ours): it answers a request whose
last message is from the user with a call of ``get_weather``, and one that ends with
the tool's result with a short answer, streamed or not, as Groq does. Measured in one
run, in this process's CPU time (``time.process_time``):

- **floor**: the same two requests with a plain ``httpx.Client`` (JSON bodies built by
  hand, responses read and parsed, the SSE lines split), and the function called;
- **our client by hand**: the same two requests through ``Groq().chat.completions``
  (our request building, retries wrapper, response models), the function called;
- **ours**: ``run_turn`` of a ``%%groq --tools get_weather`` turn (preparation, the
  request loop, call assembly, argument validation, tool and assistant messages, the
  result and the history record) with a sink that shows nothing.

    .venv/bin/python bench/tool_loop.py --rounds 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from typing import Any

SERVER = textwrap.dedent(
    """
    import http.server, json, sys

    CALL = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}

    def completion(message, finish):
        return {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28,
                          "completion_time": 0.01}}

    def chunk(delta, finish=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            called = body["messages"][-1]["role"] == "tool"
            if body.get("stream"):
                if called:
                    events = [chunk({"role": "assistant", "content": "It is "}),
                              chunk({"content": "12 degrees."}), chunk({}, "stop")]
                else:
                    events = [chunk({"role": "assistant", "tool_calls": [{"index": 0, **CALL}]}),
                              chunk({}, "tool_calls")]
                data = "".join(f"data: {json.dumps(e)}\\n\\n" for e in events)
                data += "data: [DONE]\\n\\n"
                payload, kind = data.encode(), "text/event-stream"
            else:
                message = ({"role": "assistant", "content": "It is 12 degrees."} if called
                           else {"role": "assistant", "content": None, "tool_calls": [CALL]})
                payload = json.dumps(completion(message, "stop" if called else "tool_calls"))
                payload, kind = payload.encode(), "application/json"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: the city's name
    """
    return f"12 degrees in {city}"


def _floor_round(http: Any, url: str, stream: bool) -> None:
    """The least any client must do for one round trip: two requests, parsed; one call."""
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Oslo?"}]
    body = {"model": "m", "messages": messages, "tools": tools, "stream": stream}
    first = http.post(url, content=json.dumps(body))
    if stream:
        events = [json.loads(line[6:]) for line in first.text.splitlines() if line[6:7] == "{"]
        call = events[0]["choices"][0]["delta"]["tool_calls"][0]
    else:
        call = first.json()["choices"][0]["message"]["tool_calls"][0]
    result = get_weather(**json.loads(call["function"]["arguments"]))
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": result},
    ]
    second = http.post(url, content=json.dumps({**body, "messages": messages}))
    if stream:
        "".join(line for line in second.text.splitlines() if line.startswith("data: {"))
    else:
        second.json()


def _client_round(client: Any, stream: bool) -> None:
    """The same round trip by hand through our client (its requests, parsing, retries)."""
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Oslo?"}]
    if stream:
        with client.chat.completions.create(
            messages=messages, model="m", tools=tools, stream=True
        ) as first:
            for _ in first:
                pass
        call = first.tool_calls[0]
    else:
        answer = client.chat.completions.create(messages=messages, model="m", tools=tools)
        call = answer.choices[0].message.tool_calls[0].model_dump()
    result = get_weather(**json.loads(call["function"]["arguments"]))
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": result},
    ]
    if stream:
        with client.chat.completions.create(
            messages=messages, model="m", tools=tools, stream=True
        ) as second:
            for _ in second:
                pass
    else:
        client.chat.completions.create(messages=messages, model="m", tools=tools)


def _our_round(client: Any, stream: bool) -> None:
    from groq_magic.chat import ChatOptions, Conversation
    from groq_magic.chat.engine import run_turn
    from groq_magic.chat.prepare import prepare_turn
    from groq_magic.chat.sink import NullSink

    options = ChatOptions.parse(tools="get_weather", stream=stream)
    prep = prepare_turn(options, "Weather in Oslo?", {"get_weather": get_weather}, Conversation())
    result = run_turn(prep, client, NullSink())
    assert result.tool_calls, result
    assert result.text == "It is 12 degrees.", result


def _cpu_per_round(action: Any, rounds: int) -> float:
    started = time.process_time()
    for _ in range(rounds):
        action()
    return (time.process_time() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5, help="measurements; the median is kept")
    args = parser.parse_args()

    import httpx

    from groq_magic.client import Groq

    child = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        base = f"http://127.0.0.1:{port}/v1"
        os.environ.pop("GROQ_API_KEY", None)
        with (
            httpx.Client(headers={"content-type": "application/json"}) as http,
            Groq(api_key="gsk_bench", base_url=base) as client,
        ):
            for stream in (False, True):
                # Warm both paths (imports, connections, pydantic's validators).
                url = base + "/chat/completions"
                _floor_round(http, url, stream)
                _client_round(client, stream)
                _our_round(client, stream)
                floors, hands, ours = [], [], []
                for _ in range(args.repeat):
                    floors.append(
                        _cpu_per_round(
                            lambda s=stream, u=url: _floor_round(http, u, s), args.rounds
                        )
                    )
                    hands.append(
                        _cpu_per_round(lambda s=stream: _client_round(client, s), args.rounds)
                    )
                    ours.append(_cpu_per_round(lambda s=stream: _our_round(client, s), args.rounds))
                floor, hand, mine = (statistics.median(x) * 1000 for x in (floors, hands, ours))
                label = "streamed" if stream else "not streamed"
                print(
                    f"{label}: per round trip (ms of this process's CPU, median of"
                    f" {args.repeat} x {args.rounds}): bare httpx {floor:.3f} | our client by"
                    f" hand {hand:.3f} | a %%groq --tools turn {mine:.3f}"
                )
                verdict = "PASS" if mine - hand < 1.0 else "FAIL"
                print(
                    f"  the tool loop adds {mine - hand:.3f} ms beyond the same requests through"
                    f" our client (target < 1 ms) {verdict}; {mine - floor:.3f} ms beyond bare"
                    " httpx, of which the client's own request handling is"
                    f" {hand - floor:.3f} ms"
                )
    finally:
        child.terminate()
        child.wait(timeout=5)


if __name__ == "__main__":
    main()
