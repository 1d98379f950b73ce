"""Pacing by rate limits: 1,000 requests in close to the minimum time, with almost no 429s.

Run: ``.venv/bin/python bench/pacing_bench.py [--requests 1000] [--minute 2.0] [--no-stream]``

A loopback server (``tests/ratelimit_server.py``) enforces Groq-style limits over a short
"minute" (``--minute`` seconds, 2 by default, so the run takes about a minute, not half an
hour): requests per minute (``--rpm``), tokens per minute (``--tpm``) and requests per day
(not binding here), with Groq's ``x-ratelimit-*`` headers and 429 messages. The requests mix
short prompts, where the RPM binds, with long ones, where the TPM binds, in a fixed shuffled
order; each asks for ``max_tokens`` 48 and gets 24 tokens back after ``--latency`` seconds.

The same requests are sent twice, each time to a fresh server:

- **paced**: :class:`groq_magic.pacing.RateLimitPacer` with ``httpx.AsyncClient``: acquire,
  send, ``observe`` the headers, ``done`` with the usage (or ``failed_rate_limited`` on a
  429, then acquire again);
- **sweep (paced)**: the same prompts through ``groq_magic.sweep`` (the one road, the
  runner, the progress counters; the pacer wired into the runner), with its own
  ``RateLimitPacer`` so the run starts knowing nothing, as a fresh kernel does;
- **compares (paced)**: ``%%groq -t ...`` compares one after another, as a notebook runs
  them: every 8th prompt, each as one :func:`groq_magic.ui.compare.run_compare` of 8
  temperatures (eager permits for each compare's burst), all sharing one fresh pacer as the
  kernel's compares do. Its minimum is computed for its own requests; the target is the 429
  share (a compare waits for its slowest run before the next starts, so its wall time is
  reported, not held to the sweep's target); and the same with ``pacer=False`` for
  contrast (**compares (unpaced)**: a 429 pauses every run of that compare for the server's
  wait; a run still refused after 3 retries fails, counted in the last column);
- **fixed 8 + retry**: what promptfoo and prompttools do: 8 requests in flight, a 429 is
  retried after the server's ``retry-after`` plus up to 20 % jitter (promptfoo's
  ``retryPolicy``), as often as it takes. The run also counts how many requests needed more
  than 3 retries: promptfoo's default policy would have failed those.

"The minimum the limits allow" is when the server could have admitted the last request had
each been sent the moment every bucket held enough for it (``RateLimitedServer.ideal_finish``,
with the server's own token counts), plus one answer's latency. Targets, for the paced run:
wall time within 1.15x of that minimum, and at most 1 % of the requests answered 429 (checked
for the paced client and for the sweep). Prints every run and PASS/FAIL (exit status 1 on a
FAIL); writes ``build/bench/pacing_bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ratelimit_server import RateLimitedServer, prompt_tokens  # noqa: E402

from groq_magic.pacing import RateLimitPacer  # noqa: E402

MODEL = "llama-3.1-8b-instant"
MAX_TOKENS = 48
ANSWER_TOKENS = 24
TARGET_TIME = 1.15
TARGET_429 = 0.01
PROMPTFOO_RETRIES = 3
SHORT = "Rate this review from 1 to 5: '{n} stars, would buy again.'"
LONG = "Summarise in one line: " + "The quarterly report shows steady growth in every region. " * 20


@dataclass
class Outcome:
    """How one kind of client did."""

    name: str
    wall: float = 0.0
    sent: int = 0
    rejected: int = 0
    failed_by_promptfoo: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    """What one HTTP exchange returned."""

    status: int
    headers: httpx.Headers
    message: str | None = None
    total_tokens: int | None = None


def bodies(count: int, long_share: float, stream: bool) -> list[dict[str, Any]]:
    """The requests, short and long prompts shuffled in a fixed order."""
    rng = random.Random(12)
    made = []
    for n in range(count):
        prompt = LONG if rng.random() < long_share else SHORT.format(n=n % 5 + 1)
        made.append(
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"[{n}] {prompt}"}],
                "max_tokens": MAX_TOKENS,
                "stream": stream,
            }
        )
    return made


def _usage(sse: bytes) -> int | None:
    """``total_tokens`` from a stream's last usage (``x_groq.usage`` or ``usage``)."""
    for line in reversed(sse.split(b"\n")):
        if line.startswith(b"data: {") and b"usage" in line:
            chunk = json.loads(line[6:])
            usage = (chunk.get("x_groq") or {}).get("usage") or chunk.get("usage")
            if usage:
                return int(usage["total_tokens"])
    return None


async def exchange(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    on_headers: Callable[[httpx.Headers], None] | None = None,
) -> Answer:
    """Send one request, streamed or not; the headers go to ``on_headers`` on arrival."""
    async with client.stream("POST", url, json=body) as response:
        if response.status_code == 200 and on_headers is not None:
            on_headers(response.headers)
        raw = await response.aread()
    if response.status_code != 200:
        message = json.loads(raw)["error"]["message"]
        return Answer(response.status_code, response.headers, message)
    if body.get("stream"):
        return Answer(200, response.headers, total_tokens=_usage(raw))
    return Answer(200, response.headers, total_tokens=json.loads(raw)["usage"]["total_tokens"])


async def paced(client: httpx.AsyncClient, url: str, pacer: RateLimitPacer, body: Any) -> int:
    """One request through the pacer; returns the 429s it met."""
    rejected = 0
    while True:
        with await pacer.acquire_request(body) as permit:
            answer = await exchange(client, url, body, permit.observe)
            if answer.status == 429:
                permit.failed_rate_limited(answer.headers, answer.message)
                rejected += 1
                continue
            if answer.status != 200:
                raise RuntimeError(f"{answer.status}: {answer.message}")
            permit.done(headers=answer.headers, used_tokens=answer.total_tokens)
            return rejected


async def fixed_with_retry(
    client: httpx.AsyncClient, url: str, gate: asyncio.Semaphore, body: Any
) -> int:
    """One request the promptfoo way: a slot of 8, retry-after plus jitter on each 429."""
    rejected = 0
    while True:
        async with gate:
            answer = await exchange(client, url, body)
        if answer.status == 200:
            return rejected
        if answer.status != 429:
            raise RuntimeError(f"{answer.status}: {answer.message}")
        rejected += 1
        hint = float(answer.headers.get("retry-after") or 1.0)
        await asyncio.sleep(hint * (1 + 0.2 * random.random()))


async def run(
    name: str,
    requests: list[dict[str, Any]],
    server: RateLimitedServer,
    one: Callable[[httpx.AsyncClient, str, Any], Awaitable[int]],
) -> Outcome:
    """Send every request with ``one``; time it from the first send to the last answer."""
    url = server.base_url + "/chat/completions"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.monotonic()
        retries = await asyncio.gather(*(one(client, url, body) for body in requests))
        wall = time.monotonic() - started
    return Outcome(
        name=name,
        wall=wall,
        sent=len(server.log),
        rejected=server.rejected,
        failed_by_promptfoo=sum(1 for r in retries if r > PROMPTFOO_RETRIES),
        details={"rejected_by": dict(server.rejected_by)},
    )


def run_sweep(
    requests: list[dict[str, Any]], server: RateLimitedServer, minute: float, stream: bool
) -> Outcome:
    """The requests' prompts through ``groq_magic.sweep``, paced by a fresh pacer."""
    import groq_magic
    from groq_magic.client import AsyncGroq

    client = AsyncGroq(api_key="gsk_bench_" + "0" * 46, base_url=server.base_url)
    prompts = [body["messages"][-1]["content"] for body in requests]
    started = time.monotonic()
    table = groq_magic.sweep(
        prompts,
        model=MODEL,
        max_tokens=MAX_TOKENS,
        stream=stream,
        client=client,
        pacer=RateLimitPacer(minute=minute),
        concurrency=64,
        progress=False,
    )
    wall = time.monotonic() - started
    failed = [e for e in table.error if isinstance(e, str)]
    if failed:
        raise RuntimeError(f"{len(failed)} sweep rows failed, e.g. {failed[0]}")
    return Outcome(
        name="sweep (paced)",
        wall=wall,
        sent=len(server.log),
        rejected=server.rejected,
        details={"rejected_by": dict(server.rejected_by)},
    )


def run_compares(
    requests: list[dict[str, Any]],
    server: RateLimitedServer,
    minute: float,
    stream: bool,
    paced: bool = True,
) -> tuple[Outcome, list[tuple[int, int]]]:
    """Every 8th prompt as a compare of 8 temperatures, one after another, one shared pacer.

    Returns the outcome and the (charged, used) token costs of the requests it sent.
    """
    import contextlib
    import io

    from groq_magic.backend import Backend
    from groq_magic.chat import ChatOptions
    from groq_magic.session import GroqSession
    from groq_magic.ui.compare import run_compare

    prompts = [body["messages"][-1]["content"] for body in requests[::8]]
    session = GroqSession(Backend(base_url=lambda: server.base_url, notice=lambda _: None))
    client = session.backend.async_client()
    pacer: RateLimitPacer | bool = RateLimitPacer(minute=minute) if paced else False
    options = ChatOptions(model=MODEL, max_tokens=MAX_TOKENS, stream=stream)
    grid = {"temperature": [round(0.25 * i, 2) for i in range(8)]}
    started = time.monotonic()
    failed: list[str] = []
    with contextlib.redirect_stdout(io.StringIO()):
        for prompt in prompts:
            table = run_compare(
                session,
                options,
                grid,
                prompt,
                {},
                repeat=1,
                shell=None,
                client=client,
                pacer=pacer,
            )
            failed += [e for e in table.error if isinstance(e, str)]
    wall = time.monotonic() - started
    if failed and paced:
        raise RuntimeError(f"{len(failed)} compare runs failed, e.g. {failed[0]}")
    sent = [{"messages": [{"role": "user", "content": p}]} for p in prompts for _ in range(8)]
    costs = [
        (prompt_tokens(b) + MAX_TOKENS, prompt_tokens(b) + min(ANSWER_TOKENS, MAX_TOKENS))
        for b in sent
    ]
    outcome = Outcome(
        name="compares (paced)" if paced else "compares (unpaced)",
        wall=wall,
        sent=len(server.log),
        rejected=server.rejected,
        failed_by_promptfoo=len(failed),  # here: runs that failed after their 3 retries
        details={"rejected_by": dict(server.rejected_by), "requests": len(sent)},
    )
    return outcome, costs


def main() -> int:
    """Run both clients against fresh servers; 0 when the paced run meets both targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--minute", type=float, default=2.0, help="seconds in a 'minute'")
    parser.add_argument("--rpm", type=int, default=60)
    parser.add_argument("--tpm", type=int, default=6000)
    parser.add_argument("--rpd", type=int, default=1_000_000)
    parser.add_argument("--long-share", type=float, default=0.3)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--no-stream", action="store_true")
    args = parser.parse_args()

    requests = bodies(args.requests, args.long_share, stream=not args.no_stream)
    limits = {"rpm": args.rpm, "tpm": args.tpm, "rpd": args.rpd, "minute": args.minute}
    server_options = {**limits, "answer_tokens": ANSWER_TOKENS, "latency": args.latency}
    costs = [
        (prompt_tokens(b) + MAX_TOKENS, prompt_tokens(b) + min(ANSWER_TOKENS, MAX_TOKENS))
        for b in requests
    ]
    minimum = RateLimitedServer(**server_options).ideal_finish(costs) + args.latency
    print(
        f"{args.requests} requests ({args.long_share:.0%} long), "
        f"{'streamed' if not args.no_stream else 'not streamed'}; a 'minute' of "
        f"{args.minute:g} s: RPM {args.rpm}, TPM {args.tpm}, RPD {args.rpd}; answers after "
        f"{args.latency:g} s"
    )
    print(f"minimum the limits allow: {minimum:.2f} s")

    outcomes = []
    with RateLimitedServer(**server_options) as server:
        pacer = RateLimitPacer(minute=args.minute)

        async def one_paced(client: httpx.AsyncClient, url: str, body: Any) -> int:
            return await paced(client, url, pacer, body)

        outcome = asyncio.run(run("paced", requests, server, one_paced))
        outcome.details["learned"] = asdict(pacer.limits(MODEL))
        outcomes.append(outcome)
    with RateLimitedServer(**server_options) as server:
        outcomes.append(run_sweep(requests, server, args.minute, stream=not args.no_stream))
    with RateLimitedServer(**server_options) as server:
        compares, compare_costs = run_compares(
            requests, server, args.minute, stream=not args.no_stream
        )
        compare_minimum = server.ideal_finish(compare_costs) + args.latency
    with RateLimitedServer(**server_options) as server:
        unpaced, _ = run_compares(
            requests, server, args.minute, stream=not args.no_stream, paced=False
        )
    with RateLimitedServer(**server_options) as server:

        async def both() -> Outcome:
            gate = asyncio.Semaphore(8)

            async def one_fixed(client: httpx.AsyncClient, url: str, body: Any) -> int:
                return await fixed_with_retry(client, url, gate, body)

            return await run("fixed 8 + retry", requests, server, one_fixed)

        outcomes.append(asyncio.run(both()))

    print(f"{'':18}{'wall s':>8}{'x min':>8}{'sent':>7}{'429s':>7}{'429 %':>8}{'>3 retries':>12}")
    for o in outcomes:
        share = o.rejected / o.sent if o.sent else 0.0
        print(
            f"{o.name:18}{o.wall:8.2f}{o.wall / minimum:8.3f}{o.sent:7d}{o.rejected:7d}"
            f"{share:8.2%}{o.failed_by_promptfoo:12d}"
        )
    print(f"paced learned: {outcomes[0].details['learned']}")
    for o in (compares, unpaced):
        print(
            f"{o.name:18}{o.wall:8.2f}{o.wall / compare_minimum:8.3f}{o.sent:7d}"
            f"{o.rejected:7d}{o.rejected / o.sent:8.2%}{o.failed_by_promptfoo:12d}"
            f"   ({o.details['requests']} runs, minimum {compare_minimum:.2f} s;"
            " last column: runs failed after 3 retries)"
        )
    compare_share = compares.rejected / compares.details["requests"]
    time_ok = share_ok = True
    for best in outcomes[:2]:  # the pacer alone, and through sweep
        on_time = best.wall <= TARGET_TIME * minimum
        few = best.rejected <= TARGET_429 * args.requests
        print(
            f"{'PASS' if on_time else 'FAIL'}: {best.name} wall time"
            f" {best.wall / minimum:.3f}x the minimum (target <= {TARGET_TIME}x)"
        )
        print(
            f"{'PASS' if few else 'FAIL'}: {best.name} 429s {best.rejected / args.requests:.2%}"
            f" of the requests (target <= {TARGET_429:.0%})"
        )
        time_ok, share_ok = time_ok and on_time, share_ok and few
    compares_few = compare_share <= TARGET_429
    print(
        f"{'PASS' if compares_few else 'FAIL'}: {compares.name} 429s {compare_share:.2%}"
        f" of the requests (target <= {TARGET_429:.0%})"
    )
    share_ok = share_ok and compares_few
    out = ROOT / "build" / "bench" / "pacing_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "args": vars(args),
        "minimum": minimum,
        "outcomes": [asdict(o) for o in [*outcomes, compares, unpaced]],
        "compare_minimum": compare_minimum,
    }
    out.write_text(json.dumps(report, indent=2))
    return 0 if time_ok and share_ok else 1


if __name__ == "__main__":
    sys.exit(main())
