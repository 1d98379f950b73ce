"""A loopback chat server that enforces Groq's rate limits, over windows as short as you like.

    with RateLimitedServer(rpm=20, tpm=4000, rpd=14400, minute=1.0) as server:
        # POST server.base_url + "/chat/completions" (also /openai/v1/... and /v1/...)
        server.accepted, server.rejected, server.rejected_by["RPM"], server.log

Each model has its own limits, as on Groq: requests and tokens per minute (``rpm``, ``tpm``,
over ``minute`` seconds) and per day (``rpd``, ``tpd``, over ``day`` seconds); None leaves a
limit out. They are buckets refilled continuously, which is what Groq's numbers show: its
"Please try again in 2s" for an RPM of 30 is one request's worth of refill, and "Limit
8000, Used 6170, Requested 5386. Please try again in 26.67s" is exactly the 3556 missing
tokens at 8000 a minute.

A request is admitted when every bucket holds what it asks: 1 request, and its prompt tokens
(the server's own count, ``prompt_tokens``: a quarter of the characters plus a few per
message, deliberately not the pacer's estimate) plus its ``max_completion_tokens`` /
``max_tokens`` (else the answer's length). As on Groq, that whole amount is *reserved* when
the request is admitted (its headers already show it taken), and what the answer did not
use (the max minus the tokens it really generates, ``answer_tokens`` capped by the max)
comes back to the token buckets when the answer ends, ``latency`` seconds later. Answers are
a Groq-shaped ``chat.completion`` or, when ``stream`` is set, SSE chunks (the headers go out
at once, the chunks over ``latency``). Every answer carries Groq's ``x-ratelimit-*`` headers
and ``x-request-id``: ``-requests`` are the requests per *day* (RPD), ``-tokens`` the tokens
per *minute* (TPM), each with its limit, what remains, and the time until the bucket is full
again as a Go duration. The RPM and the TPD have no header: they show only in a 429.

A request that does not fit gets Groq's 429: ``{"error": {"message": "Rate limit reached for
model ... on requests per minute (RPM): Limit 20, Used 20, Requested 1. Please try again in
50ms. ...", "type": "requests", "code": "rate_limit_exceeded"}}`` with ``retry-after`` in
whole seconds rounded up, as Groq sends it; whole sixtieths of ``minute`` here, so a short
minute keeps Groq's proportions. Daily limits are checked first. A request larger than a
whole bucket gets Groq's 413 ("Request too large"). A limit of 0 (a model the organization
may not use) refuses every request with a 429 that says ``Limit 0`` and names no wait.

What made an earlier version of this server kinder than Groq: it charged a request only the
tokens its answer would use, at once, so its headers never showed the reservation of
``max_tokens`` and no client had to expect the tokens given back when an answer ends; and
its ``retry-after`` was exact to the millisecond.

The server records every request (:class:`Attempt`: when, model, status, which limit) and
counts ``accepted``, ``rejected`` and ``rejected_by``. ``clock`` is injectable, and
:meth:`RateLimitedServer.admit` can be called without HTTP, so fake-clock tests get the same
verdicts. :meth:`RateLimitedServer.least_time` is the minimum the limits allow by the
protocol notes' formula (a full bucket at once, then the refill), and
:meth:`RateLimitedServer.ideal_finish` the earliest time a sequence of requests could all
have been admitted by this server's own rules (reservations and refunds included), for
benchmarks and tests to compare against.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripted_server import chunk_events, completion_body, sse_bytes

__all__ = [
    "Attempt",
    "RateLimitedServer",
    "go_duration",
    "prompt_tokens",
]

CHAT_PATHS = ("/chat/completions", "/v1/chat/completions", "/openai/v1/chat/completions")
WORD = " ok"


def go_duration(seconds: float) -> str:
    """``seconds`` as Go prints a duration: ``130ms``, ``7.66s``, ``2m59.56s``, ``1h2m3s``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000, 2):g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{round(secs, 2):g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """The server's count of a request's prompt tokens: chars/4 plus 4 a message."""
    messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
    chars = sum(len(_text(m.get("content"))) for m in messages)
    return math.ceil(chars / 4) + 4 * len(messages) + 3


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return value if isinstance(value, int) and value > 0 else None


class _Bucket:
    """``limit`` units refilled continuously over ``window`` seconds, starting full.

    A unit taken may be given back later (a token reservation larger than the answer):
    :meth:`give_back` schedules it, and :meth:`refill` applies it when the clock gets there.
    """

    def __init__(self, limit: int, window: float, now: float) -> None:
        self.limit = limit
        self.rate = limit / window  # 0 for a limit of 0: never admitted, never refilled
        self.level = float(limit)
        self.stamp = now
        self._returns: list[tuple[float, float]] = []  # (when, amount), a heap

    def _advance(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.limit, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def refill(self, now: float) -> float:
        while self._returns and self._returns[0][0] <= now:
            when, amount = heapq.heappop(self._returns)
            self._advance(when)
            self.level = min(self.limit, self.level + amount)
        self._advance(now)
        return self.level

    def give_back(self, amount: float, when: float) -> None:
        heapq.heappush(self._returns, (when, amount))

    def earliest(self, need: float, now: float) -> float:
        """The first time from ``now`` the bucket holds ``need``, scheduled returns counted."""
        level = self.refill(now)
        for when, amount in sorted(self._returns):
            ready = self._ready(need, level, now)
            if ready <= when:
                return ready
            level = min(self.limit, level + (when - now) * self.rate + amount)
            now = when
        return self._ready(need, level, now)

    def _ready(self, need: float, level: float, now: float) -> float:
        """When ``level`` at ``now`` grows to ``need`` by refill alone."""
        if level >= need:
            return now
        return now + (need - level) / self.rate if self.rate else math.inf

    def used(self) -> int:
        return self.limit - math.floor(max(0.0, self.level))

    def reset_in(self) -> float:
        return (self.limit - self.level) / self.rate if self.rate else 0.0


@dataclass
class _Limit:
    key: str  # "RPM", "TPM", "RPD", "TPD"
    unit: str  # "requests" | "tokens"
    window: str  # "minute" | "day"
    bucket: _Bucket


@dataclass
class Attempt:
    """One request as the server saw it (``at``: seconds since the server started)."""

    at: float
    model: str
    status: int
    limit: str | None = None  # which limit refused it
    requested: int = 0
    charged: int = 0


@dataclass
class _Model:
    limits: list[_Limit] = field(default_factory=list)

    def find(self, key: str) -> _Limit | None:
        return next((lim for lim in self.limits if lim.key == key), None)


class RateLimitedServer:
    """Serves chat completions on 127.0.0.1 under Groq-style limits (see the module doc)."""

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        rpd: int | None = None,
        tpd: int | None = None,
        minute: float = 60.0,
        day: float = 86400.0,
        answer_tokens: int = 16,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm, self.tpm, self.rpd, self.tpd = rpm, tpm, rpd, tpd
        self.minute, self.day = minute, day
        self.answer_tokens = answer_tokens
        self.latency = latency
        self.log: list[Attempt] = []
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clock = clock
        self._started = clock()
        self._http: _HTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> RateLimitedServer:
        """Bind a free port and serve in daemon threads."""
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._http.limited = self
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        self._started = self._clock()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> RateLimitedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._http is not None, "server not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def base_url(self) -> str:
        """Groq's base URL shape: ``url + "/openai/v1"``."""
        return self.url + "/openai/v1"

    # -- counts ------------------------------------------------------------------------------

    @property
    def accepted(self) -> int:
        """Requests answered 200."""
        with self._lock:
            return sum(1 for a in self.log if a.status == 200)

    @property
    def rejected(self) -> int:
        """Requests answered 429."""
        with self._lock:
            return sum(1 for a in self.log if a.status == 429)

    @property
    def rejected_by(self) -> Counter[str]:
        """429s by the limit that refused them (``RPM``, ``TPM``, ``RPD``, ``TPD``)."""
        with self._lock:
            return Counter(a.limit for a in self.log if a.status == 429 and a.limit)

    def accepted_times(self) -> list[float]:
        """When each accepted request was admitted, in seconds since the start."""
        with self._lock:
            return [a.at for a in self.log if a.status == 200]

    # -- the limits --------------------------------------------------------------------------

    def _model(self, name: str, now: float) -> _Model:
        model = self._models.get(name)
        if model is None:
            model = self._models[name] = self._fresh(now)
        return model

    def _fresh(self, now: float) -> _Model:
        """Full buckets for one model's limits, checked daily limits first."""
        model = _Model()
        spec = (
            ("RPD", "requests", "day", self.rpd, self.day),
            ("TPD", "tokens", "day", self.tpd, self.day),
            ("RPM", "requests", "minute", self.rpm, self.minute),
            ("TPM", "tokens", "minute", self.tpm, self.minute),
        )
        for key, unit, window, limit, seconds in spec:
            if limit is not None:
                model.limits.append(_Limit(key, unit, window, _Bucket(limit, seconds, now)))
        return model

    def ideal_finish(self, requests: Iterable[tuple[int, int]]) -> float:
        """When the last of ``requests`` ((requested, charged) tokens each, in order) could
        be admitted at the earliest, from full buckets, by this server's rules: each
        reserves ``requested`` and gets back the rest of ``charged`` ``latency`` later.

        Sending each request the moment every bucket holds enough for it is optimal for a
        fixed order (sending earlier never leaves a bucket lower later, and brings its
        refund earlier), so this greedy walk is the bound. It walks fresh buckets of its
        own; the server's are left alone.
        """
        model = self._fresh(0.0)
        now = 0.0
        for requested, charged in requests:
            while True:  # every bucket only fills while waiting: the latest of them is the time
                ready = max(
                    limit.bucket.earliest(1 if limit.unit == "requests" else requested, now)
                    for limit in model.limits
                )
                if ready <= now + 1e-9:
                    break
                now = ready
            self._charge(model, requested, charged, now)
        return now

    def least_time(self, charged: Iterable[int]) -> float:
        """The bound ``groq-protocol.md`` states for requests that count ``charged`` tokens
        each (their usage): a full bucket spent at once, then the refill. For each limit,
        ``(what the requests need - limit) / (limit / window)``; the largest (0 when every
        bucket holds them all). Reservations are left out: no client can go faster.
        """
        tokens = list(charged)
        spans = [0.0]
        for limit, window, need in (
            (self.rpm, self.minute, len(tokens)),
            (self.tpm, self.minute, sum(tokens)),
            (self.rpd, self.day, len(tokens)),
            (self.tpd, self.day, sum(tokens)),
        ):
            if limit:
                spans.append((need - limit) / (limit / window))
        return max(spans)

    def _charge(self, model: _Model, requested: int, charged: int, now: float) -> None:
        """Take one request and reserve ``requested`` tokens; what the answer did not use
        (``requested - charged``) comes back when it ends, ``latency`` seconds later."""
        for limit in model.limits:
            bucket = limit.bucket
            bucket.refill(now)
            if limit.unit == "requests":
                bucket.level -= 1
                continue
            bucket.level -= requested
            if requested > charged:
                bucket.give_back(requested - charged, now + self.latency)

    def admit(self, body: Mapping[str, Any]) -> tuple[int, dict[str, str], dict[str, Any], int]:
        """Decide one request: (status, headers, error body or {}, completion tokens).

        The HTTP handler calls this; tests on a fake ``clock`` call it directly, without
        sockets, to get the same verdicts.
        """
        name = str(body.get("model") or "unknown")
        prompt = prompt_tokens(body)
        cap = _max_tokens(body)
        completion = min(self.answer_tokens, cap) if cap else self.answer_tokens
        requested = prompt + (cap or self.answer_tokens)
        with self._lock:
            now = self._clock()
            model = self._model(name, now)
            refusal = self._refusal(name, model, requested, now)
            attempt = Attempt(now - self._started, name, 200, requested=requested)
            if refusal is None:
                attempt.charged = prompt + completion
                self._charge(model, requested, attempt.charged, now)
            headers = self._headers(model)
            self.log.append(attempt)
            if refusal is None:
                return 200, headers, {}, completion
            status, error, refused, wait = refusal
            attempt.status, attempt.limit = status, refused.key
            if wait is not None:
                headers["retry-after"] = self._retry_after(wait)
            return status, headers, error, 0

    def _refusal(
        self, name: str, model: _Model, requested: int, now: float
    ) -> tuple[int, dict[str, Any], _Limit, float | None] | None:
        """Why the first limit that cannot take the request refuses it (None: admitted):
        status, error body, the limit, and the wait (None: waiting will not help)."""
        for limit in model.limits:
            bucket = limit.bucket
            bucket.refill(now)
            need = 1 if limit.unit == "requests" else requested
            if bucket.limit == 0:  # a model this organization may not use
                return 429, _rate_limited(name, limit, need, None), limit, None
            if need > bucket.limit:
                return 413, _too_large(name, limit, need), limit, None
            if bucket.level < need:
                wait = (need - bucket.level) / bucket.rate
                return 429, _rate_limited(name, limit, need, wait), limit, wait
        return None

    def _retry_after(self, wait: float) -> str:
        """Groq's ``retry-after``: the wait rounded up to whole seconds of its 60-second
        minute; here whole sixtieths of ``minute``, so a short minute keeps the proportion."""
        tick = self.minute / 60.0
        return f"{max(1, math.ceil(wait / tick - 1e-9)) * tick:g}"

    def _headers(self, model: _Model) -> dict[str, str]:
        headers = {"x-request-id": f"req_loopback{next(self._ids):08d}", "x-groq-region": "lo"}
        for key, name in (("RPD", "requests"), ("TPM", "tokens")):
            limit = model.find(key)
            if limit is not None:
                bucket = limit.bucket
                headers[f"x-ratelimit-limit-{name}"] = str(bucket.limit)
                headers[f"x-ratelimit-remaining-{name}"] = str(math.floor(max(0, bucket.level)))
                headers[f"x-ratelimit-reset-{name}"] = go_duration(bucket.reset_in())
        return headers


def _error(message: str, type_: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code}}


def _rate_limited(model: str, limit: _Limit, need: int, wait: float | None) -> dict[str, Any]:
    again = f" Please try again in {go_duration(wait)}." if wait is not None else ""
    message = (
        f"Rate limit reached for model `{model}` in organization `org_loopback` service tier "
        f"`on_demand` on {limit.unit} per {limit.window} ({limit.key}): Limit "
        f"{limit.bucket.limit}, Used {limit.bucket.used()}, Requested {need}.{again} Need more "
        "tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing"
    )
    return _error(message, limit.unit, "rate_limit_exceeded")


def _too_large(model: str, limit: _Limit, need: int) -> dict[str, Any]:
    message = (
        f"Request too large for model `{model}` in organization `org_loopback` service tier "
        f"`on_demand` on {limit.unit} per {limit.window} ({limit.key}): Limit "
        f"{limit.bucket.limit}, Requested {need}, please reduce your message size and try again."
    )
    return _error(message, limit.unit, "rate_limit_exceeded")


# -- HTTP ------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    limited: RateLimitedServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY a body written after its headers waits out the client's delayed
    # ACK (40 ms on Linux): a 429 would reach the client late and look like a slow pacer.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a bench sends thousands of requests."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path.split("?", 1)[0] not in CHAT_PATHS:
            self._json(404, {}, _error(f"no route {self.path}", "invalid_request_error", "404"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, {}, _error("body is not JSON", "invalid_request_error", "400"))
            return
        limited = self.server.limited
        status, headers, error, completion = limited.admit(body)
        if status != 200:
            self._json(status, headers, error)
            return
        model = str(body.get("model"))
        prompt = prompt_tokens(body)
        request_id = headers["x-request-id"]
        if body.get("stream"):
            events = chunk_events(
                [WORD] * completion, model=model, request_id=request_id, prompt_tokens=prompt
            )
            self._stream(headers, sse_bytes(events), limited.latency)
            return
        if limited.latency:
            time.sleep(limited.latency)
        answer = completion_body(
            WORD * completion,
            model=model,
            request_id=request_id,
            prompt_tokens=prompt,
            completion_tokens=completion,
        )
        self._json(200, headers, answer)

    def _json(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, headers: Mapping[str, str], frames: Sequence[bytes], latency: float) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, frame in enumerate(_spread(frames)):
            if index == 1 and latency:
                time.sleep(latency)  # the first chunk goes at once, the rest as "generated"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _spread(frames: Sequence[bytes]) -> Iterator[bytes]:
    """The first frame alone, then the rest in one write (the wait comes between them)."""
    if frames:
        yield frames[0]
    if len(frames) > 1:
        yield b"".join(frames[1:])
