"""Pacing by rate limits: 200 and 1,000 requests in close to the minimum time, almost no 429s.

Run: ``.venv/bin/python bench/pacing_bench.py [--sizes 200 1000] [--minute 6] [--compares]``

A loopback server (``tests/ratelimit_server.py``), faithful to Groq's rate limits, enforces
them over a short "minute" (``--minute`` seconds, 6 by default, so 1,000 requests take about
two minutes, not twenty): requests per minute (``--rpm``), tokens per minute (``--tpm``) and
requests per day (``--rpd``, not binding here). Like Groq it reserves each request's prompt
plus its ``max_tokens`` when it admits it and gives back what the answer did not use when the
answer ends (``--latency`` seconds later); its ``x-ratelimit-*-tokens`` headers carry the TPM,
``-requests`` the RPD, and the RPM shows only in a 429's message. The requests mix short
prompts, where the RPM binds, with long ones, where the TPM binds, in a fixed shuffled order;
each asks for ``--max-tokens`` (512) and gets ``--answer-tokens`` (24) back.

For each size (``--sizes``), the same requests go, each time to a fresh server:

- **paced**: :class:`groq_magic.pacing.RateLimitPacer` with ``httpx.AsyncClient``: acquire,
  send, ``observe`` the headers, ``done`` with the usage (or ``failed_rate_limited`` on a
  429, then acquire again);
- **sweep (paced)**: the same prompts through ``groq_magic.sweep`` (the one road, the
  runner, the progress counters; the pacer wired into the runner), with its own
  ``RateLimitPacer`` so the run starts knowing nothing, as a fresh kernel does;
- **fixed 8 + retry**: what promptfoo and prompttools do: 8 requests in flight, a 429 is
  retried after the server's ``retry-after`` plus up to 20 % jitter (promptfoo's
  ``retryPolicy``), as often as it takes. The run also counts how many requests needed more
  than 3 retries: promptfoo's default policy would have failed those.

With ``--compares``, at the first size only: **compares (paced)**, every 8th prompt as a
compare of 8 temperatures through :func:`groq_magic.ui.compare.run_compare`, one after
another, all sharing one fresh pacer as a kernel's compares do (reported, with its own
minimum; a compare waits for its slowest run before the next starts), and the same with
``pacer=False`` (**compares (unpaced)**; a run still refused after 3 retries fails, counted
in the last column).

"The minimum the limits allow" is the protocol notes' bound (``RateLimitedServer.least_time``):
``(tokens needed - TPM) / (TPM / minute)`` or the same for requests, whichever is larger,
where the tokens needed are what the answers really use, plus one answer's latency. The
server's own greedy bound (reservations included) is printed beside it. Targets, for the
paced client and the sweep at every size: wall time within 1.15x of that minimum, and at most
1 % of the requests answered 429. Prints every run and PASS/FAIL (exit status 1 on a FAIL);
writes ``build/bench/pacing_bench.json``.
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
TARGET_TIME = 1.15
TARGET_429 = 0.01
PROMPTFOO_RETRIES = 3
SHORT = "Rate this review from 1 to 5: '{n} stars, would buy again.'"
LONG = "Summarise in one line: " + "The quarterly report shows steady growth in every region. " * 20


@dataclass(frozen=True)
class Setup:
    """What every run of one bench invocation shares (from the command line)."""

    minute: float
    max_tokens: int
    answer_tokens: int
    latency: float
    stream: bool
    long_share: float
    limits: dict[str, int]

    def server(self) -> RateLimitedServer:
        """A fresh server with these limits (not started)."""
        return RateLimitedServer(
            **self.limits,
            minute=self.minute,
            answer_tokens=self.answer_tokens,
            latency=self.latency,
        )

    def costs(self, requests: list[dict[str, Any]]) -> list[tuple[int, int]]:
        """(reserved, really used) tokens of each request, by the server's count."""
        used = min(self.answer_tokens, self.max_tokens)
        return [(prompt_tokens(b) + self.max_tokens, prompt_tokens(b) + used) for b in requests]

    def minimum(self, requests: list[dict[str, Any]]) -> tuple[float, float]:
        """The protocol notes' minimum for ``requests`` and the server's greedy bound (with
        reservations), each plus one answer's latency."""
        costs = self.costs(requests)
        server = self.server()
        least = server.least_time(used for _, used in costs)
        return least + self.latency, server.ideal_finish(costs) + self.latency


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
    usage: dict[str, Any] = field(default_factory=dict)


def bodies(count: int, setup: Setup) -> list[dict[str, Any]]:
    """The requests, short and long prompts shuffled in a fixed order."""
    rng = random.Random(12)
    made = []
    for n in range(count):
        prompt = LONG if rng.random() < setup.long_share else SHORT.format(n=n % 5 + 1)
        made.append(
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"[{n}] {prompt}"}],
                "max_tokens": setup.max_tokens,
                "stream": setup.stream,
            }
        )
    return made


def _usage(sse: bytes) -> dict[str, Any]:
    """A stream's last usage (``x_groq.usage`` or ``usage``)."""
    for line in reversed(sse.split(b"\n")):
        if line.startswith(b"data: {") and b"usage" in line:
            chunk = json.loads(line[6:])
            usage = (chunk.get("x_groq") or {}).get("usage") or chunk.get("usage")
            if usage:
                return dict(usage)
    return {}


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
    usage = _usage(raw) if body.get("stream") else json.loads(raw)["usage"]
    return Answer(200, response.headers, usage=usage)


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
            permit.done(
                headers=answer.headers,
                used_tokens=answer.usage.get("total_tokens"),
                prompt_tokens=answer.usage.get("prompt_tokens"),
            )
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


def run_paced(requests: list[dict[str, Any]], setup: Setup) -> Outcome:
    """The requests through a fresh pacer and ``httpx``, to a fresh server."""
    with setup.server() as server:
        pacer = RateLimitPacer(minute=setup.minute)

        async def one(client: httpx.AsyncClient, url: str, body: Any) -> int:
            return await paced(client, url, pacer, body)

        outcome = asyncio.run(run("paced", requests, server, one))
        outcome.details["learned"] = asdict(pacer.limits(MODEL))
    return outcome


def run_fixed(requests: list[dict[str, Any]], setup: Setup) -> Outcome:
    """The requests 8 at a time, each 429 retried after ``retry-after`` plus jitter."""
    with setup.server() as server:

        async def both() -> Outcome:
            gate = asyncio.Semaphore(8)

            async def one(client: httpx.AsyncClient, url: str, body: Any) -> int:
                return await fixed_with_retry(client, url, gate, body)

            return await run("fixed 8 + retry", requests, server, one)

        return asyncio.run(both())


def run_sweep(requests: list[dict[str, Any]], setup: Setup) -> Outcome:
    """The requests' prompts through ``groq_magic.sweep``, paced by a fresh pacer."""
    import groq_magic
    from groq_magic.client import AsyncGroq

    with setup.server() as server:
        client = AsyncGroq(api_key="gsk_bench_" + "0" * 46, base_url=server.base_url)
        prompts = [body["messages"][-1]["content"] for body in requests]
        started = time.monotonic()
        table = groq_magic.sweep(
            prompts,
            model=MODEL,
            max_tokens=setup.max_tokens,
            stream=setup.stream,
            client=client,
            pacer=RateLimitPacer(minute=setup.minute),
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


def run_compares(requests: list[dict[str, Any]], setup: Setup, paced: bool = True) -> Outcome:
    """Every 8th prompt as a compare of 8 temperatures, one after another, one shared pacer."""
    import contextlib
    import io

    from groq_magic.backend import Backend
    from groq_magic.chat import ChatOptions
    from groq_magic.session import GroqSession
    from groq_magic.ui.compare import run_compare

    prompts = [body["messages"][-1]["content"] for body in requests[::8]]
    failed: list[str] = []
    with setup.server() as server, contextlib.redirect_stdout(io.StringIO()):
        session = GroqSession(Backend(base_url=lambda: server.base_url, notice=lambda _: None))
        client = session.backend.async_client()
        pacer: RateLimitPacer | bool = RateLimitPacer(minute=setup.minute) if paced else False
        options = ChatOptions(model=MODEL, max_tokens=setup.max_tokens, stream=setup.stream)
        grid = {"temperature": [round(0.25 * i, 2) for i in range(8)]}
        started = time.monotonic()
        for prompt in prompts:
            table = run_compare(
                session, options, grid, prompt, {}, repeat=1, shell=None, client=client, pacer=pacer
            )
            failed += [e for e in table.error if isinstance(e, str)]
        wall = time.monotonic() - started
    if failed and paced:
        raise RuntimeError(f"{len(failed)} compare runs failed, e.g. {failed[0]}")
    sent = [{**body, "max_tokens": setup.max_tokens} for body in requests[::8] for _ in range(8)]
    return Outcome(
        name="compares (paced)" if paced else "compares (unpaced)",
        wall=wall,
        sent=len(server.log),
        rejected=server.rejected,
        failed_by_promptfoo=len(failed),  # here: runs that failed after their 3 retries
        details={"rejected_by": dict(server.rejected_by), "minimum": setup.minimum(sent)[0]},
    )


def measure(size: int, setup: Setup) -> dict[str, Any]:
    """Every contender on ``size`` requests, each against a fresh server."""
    requests = bodies(size, setup)
    minimum, greedy = setup.minimum(requests)
    print(f"\n{size} requests: minimum the limits allow {minimum:.2f} s (greedy {greedy:.2f} s)")
    outcomes = [run_paced(requests, setup), run_sweep(requests, setup), run_fixed(requests, setup)]
    print(f"{'':18}{'wall s':>8}{'x min':>8}{'sent':>8}{'429s':>8}{'429s/N':>9}{'>3 retries':>12}")
    for o in outcomes:
        print(
            f"{o.name:18}{o.wall:8.2f}{o.wall / minimum:8.3f}{o.sent:8d}{o.rejected:8d}"
            f"{o.rejected / size:9.1%}{o.failed_by_promptfoo:12d}"
        )
    print(f"paced learned: {outcomes[0].details['learned']}")
    return {"size": size, "minimum": minimum, "greedy": greedy, "outcomes": outcomes}


def verdicts(measured: dict[str, Any]) -> bool:
    """PASS/FAIL lines for the paced client and the sweep at one size; True if all pass."""
    size, minimum, ok = measured["size"], measured["minimum"], True
    for best in measured["outcomes"][:2]:
        ratio, share = best.wall / minimum, best.rejected / size
        for passed, what in (
            (ratio <= TARGET_TIME, f"wall time {ratio:.3f}x the minimum (<= {TARGET_TIME}x)"),
            (share <= TARGET_429, f"429s {share:.2%} of the requests (<= {TARGET_429:.0%})"),
        ):
            print(f"{'PASS' if passed else 'FAIL'}: {size} {best.name} {what}")
            ok = ok and passed
    return ok


def compares(size: int, setup: Setup) -> list[Outcome]:
    """The compare contenders on every 8th of ``size`` prompts, paced and unpaced."""
    requests = bodies(size, setup)
    found = [run_compares(requests, setup), run_compares(requests, setup, paced=False)]
    for o in found:
        runs = len(requests[::8]) * 8
        print(
            f"{o.name:18}{o.wall:8.2f}{o.wall / o.details['minimum']:8.3f}{o.sent:8d}"
            f"{o.rejected:8d}{o.rejected / runs:9.1%}{o.failed_by_promptfoo:12d}"
            f"   ({runs} runs, minimum {o.details['minimum']:.2f} s;"
            " last column: runs failed after 3 retries)"
        )
    return found


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--minute", type=float, default=6.0, help="seconds in a 'minute'")
    parser.add_argument("--rpm", type=int, default=60)
    parser.add_argument("--tpm", type=int, default=6000)
    parser.add_argument("--rpd", type=int, default=14_400)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--answer-tokens", type=int, default=24)
    parser.add_argument("--long-share", type=float, default=0.3)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--no-stream", action="store_true")
    parser.add_argument("--compares", action="store_true", help="also compares, first size")
    return parser.parse_args()


def main() -> int:
    """Run every contender at every size; 0 when the paced client and the sweep meet both
    targets at every size."""
    args = arguments()
    setup = Setup(
        minute=args.minute,
        max_tokens=args.max_tokens,
        answer_tokens=args.answer_tokens,
        latency=args.latency,
        stream=not args.no_stream,
        long_share=args.long_share,
        limits={"rpm": args.rpm, "tpm": args.tpm, "rpd": args.rpd},
    )
    print(
        f"{'streamed' if setup.stream else 'not streamed'}, {args.long_share:.0%} long prompts;"
        f" a 'minute' of {args.minute:g} s: RPM {args.rpm}, TPM {args.tpm}, RPD {args.rpd};"
        f" max_tokens {args.max_tokens}, answers of {args.answer_tokens} tokens after"
        f" {args.latency:g} s"
    )
    measured = [measure(size, setup) for size in args.sizes]
    extra = compares(args.sizes[0], setup) if args.compares else []
    passed = [verdicts(m) for m in measured]  # every size's lines, even after a FAIL
    out = ROOT / "build" / "bench" / "pacing_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for m in measured:
        m["outcomes"] = [asdict(o) for o in m["outcomes"]]
    report = {"args": vars(args), "sizes": measured, "compares": [asdict(o) for o in extra]}
    out.write_text(json.dumps(report, indent=2))
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
