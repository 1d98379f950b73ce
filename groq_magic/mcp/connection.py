"""One MCP server's life: started on first use, kept, stopped; and its calls.

Everything async here runs on the MCP loop (a background thread of its own, see
:mod:`groq_magic.mcp.servers`): the SDK's transports and sessions are anyio task
groups that must be entered and left by one task, so each running server has an
*owner* task holding them open until it is told to stop, or until the server's
output ends (it crashed or exited: the connection is then marked ``crashed``).
Calls are other tasks on the same loop, using the owner's session.

A stdio server's stderr goes to a temporary file, never to the notebook (servers
log freely there); its last line explains a server that would not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from contextlib import AsyncExitStack
from typing import IO, TYPE_CHECKING, Any, Literal

import anyio

from groq_magic._keys import redact
from groq_magic._text import one_line
from groq_magic.chat.errors import ChatError
from groq_magic.chat.tools import ToolFailure
from groq_magic.mcp.config import HttpServer, ServerSpec, StdioServer, describe

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

__all__ = ["Connection", "MCPServerError"]

State = Literal["stopped", "running", "crashed"]

_STOP_WAIT = 5.0  # seconds a stopping server may take (the SDK waits 2 s, then terminates)
_STDERR_CHARS = 4_000
_PING_EVERY = 3.0  # seconds between pings to an HTTP server while a call waits on it
_CLIENT_INFO = ("groq-magic", "0.1.0")


class MCPServerError(ChatError, RuntimeError):
    """A server could not be started or reached: one line naming it."""


def _root_cause(exc: BaseException) -> BaseException:
    """The first real error inside anyio's exception groups (cancellations skipped)."""
    # Duck-typed: BaseExceptionGroup is a builtin only from Python 3.11.
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions:  # type: ignore[attr-defined]
        group: tuple[BaseException, ...] = exc.exceptions  # type: ignore[attr-defined]
        inner = [e for e in group if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(group))[0]
    return exc


class _ServerGone(Exception):
    """An HTTP server stopped answering pings while a call waited on it."""


def _is_closed(exc: BaseException) -> bool:
    """True when the error says the server went away (exited, crashed, closed its pipe)."""
    from mcp.shared.exceptions import McpError
    from mcp.types import CONNECTION_CLOSED

    if isinstance(exc, _ServerGone):
        return True
    if isinstance(exc, McpError):
        return exc.error.code == CONNECTION_CLOSED
    return isinstance(
        exc,
        BrokenPipeError
        | ConnectionResetError
        | anyio.ClosedResourceError
        | anyio.BrokenResourceError,
    )


class Connection:
    """A configured server and, while it runs, its session and tools."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.state: State = "stopped"
        self.tools: list[Tool] = []
        self.start_seconds: float | None = None
        self.crashes = 0  # since the user last started or stopped it
        self.session: ClientSession | None = None
        self._stop: anyio.Event | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stderr: IO[bytes] | None = None
        self._lost = ""  # why the connection to an HTTP server ended, when it did

    @property
    def name(self) -> str:
        """The server's name in the configuration."""
        return self.spec.name

    @property
    def label(self) -> str:
        """``mcp server 'files'``: how every line names it."""
        return f"mcp server '{self.name}'"

    # -- starting and stopping (on the MCP loop) ----------------------------------------

    async def start(self, timeout: float) -> float:
        """Start the server and list its tools; the seconds it took. One line if it can't."""
        await self.stop()
        ready: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(self._own(ready), name=f"mcp {self.name}")
        try:
            return await asyncio.wait_for(asyncio.shield(ready), timeout)
        except TimeoutError:
            await self._abandon()
            raise MCPServerError(
                f"{self.label} did not finish starting within {timeout:g} s"
                f"{self._stderr_tail(' (its last words: {})')}; it was stopped"
                " (%config GroqMagics.mcp_start_timeout sets the wait)"
            ) from None
        except asyncio.CancelledError:
            await self._abandon()
            raise
        except MCPServerError:
            await self._abandon()
            raise

    async def stop(self) -> None:
        """Stop the server if it runs (its process ends); a stopped one is left as it is."""
        owner, self._owner = self._owner, None
        if owner is None or owner.done():
            return
        if self._stop is not None:
            self._stop.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(owner), _STOP_WAIT)
        if not owner.done():
            owner.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(owner, _STOP_WAIT)

    async def _abandon(self) -> None:
        """A start that failed or was interrupted: end whatever it opened."""
        owner, self._owner = self._owner, None
        if owner is not None and not owner.done():
            owner.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(owner, _STOP_WAIT)
        self.state = "stopped"

    async def _own(self, ready: asyncio.Future[float]) -> None:
        """The owner task: open, initialize, list tools, then hold it all until stop or crash."""
        began = time.perf_counter()
        self._stop = stop = anyio.Event()
        ended = anyio.Event()
        try:
            async with AsyncExitStack() as stack:
                session = await self._connect(stack, ended)
                await session.initialize()
                self.tools = await _all_tools(session)
                self.session, self.state = session, "running"
                self.start_seconds = time.perf_counter() - began
                ready.set_result(self.start_seconds)
                await _first_of(stop, ended)
                self.session = None
                if not stop.is_set():
                    self._crashed()
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(self._start_error(_root_cause(exc)))
            elif not isinstance(exc, asyncio.CancelledError):
                self._crashed()
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.session = None
            if self.state == "running":
                self.state = "stopped"

    async def _connect(self, stack: AsyncExitStack, ended: anyio.Event) -> ClientSession:
        from mcp import ClientSession
        from mcp.types import Implementation

        read, write = await self._transport(stack)
        # The session reads a copy of the server's messages, so the end of them (a crash)
        # is seen even when no call is waiting.
        send, tapped = anyio.create_memory_object_stream[Any](0)
        tasks = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(tasks.cancel_scope.cancel)
        tasks.start_soon(self._forward, read, send, ended)
        info = Implementation(name=_CLIENT_INFO[0], version=_CLIENT_INFO[1])
        return await stack.enter_async_context(ClientSession(tapped, write, client_info=info))

    async def _transport(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        spec = self.spec
        if isinstance(spec, StdioServer):
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            # Kept after the server ends (a crash's last words explain it), until the next start.
            if self._stderr is not None:
                self._stderr.close()
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this block
            params = StdioServerParameters(
                command=spec.command, args=list(spec.args), env=dict(spec.env) or None, cwd=spec.cwd
            )
            read, write = await stack.enter_async_context(
                stdio_client(params, errlog=self._stderr)  # type: ignore[arg-type]
            )
            return read, write
        assert isinstance(spec, HttpServer)
        import httpx
        from mcp.client.streamable_http import streamable_http_client

        client = httpx.AsyncClient(
            headers=dict(spec.headers), timeout=httpx.Timeout(30.0, read=300.0)
        )
        await stack.enter_async_context(client)
        read, write, _ = await stack.enter_async_context(
            streamable_http_client(spec.url, http_client=client)
        )
        return read, write

    # -- calls (on the MCP loop) ------------------------------------------------------

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """Run tool ``name``; every failure is a :class:`ToolFailure` line naming the server."""
        session = self.session
        if session is None or self.state != "running":
            raise ToolFailure(
                f"{self.label} is not running (it stopped or crashed); it starts again with"
                " the next cell that uses it"
            )
        try:
            if isinstance(self.spec, HttpServer):
                return await self._watched(session, session.call_tool(name, arguments))
            return await session.call_tool(name, arguments)
        except Exception as exc:
            raise self._call_error(name, exc) from None

    async def _watched(self, session: ClientSession, call: Any) -> CallToolResult:
        """An HTTP call, with a ping every few seconds while it waits.

        The SDK drops an answer stream that breaks (the server died mid-call) without
        telling the waiting call; a ping to a server that is gone fails, which ends the
        connection, and the call with it.
        """
        task: asyncio.Future[CallToolResult] = asyncio.ensure_future(call)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_PING_EVERY)
                if done:
                    return task.result()
                try:
                    await asyncio.wait_for(session.send_ping(), _PING_EVERY)
                except Exception as exc:
                    if task.done():
                        return task.result()
                    why = _clean(exc, 200) or f"no answer to a ping within {_PING_EVERY:g} s"
                    self._lost = self._lost or f"{type(exc).__name__}: {why}"
                    raise _ServerGone from None
        finally:
            task.cancel()

    async def _forward(self, source: Any, target: Any, ended: anyio.Event) -> None:
        """Pass the server's messages on; set ``ended`` when they stop (crash, exit, close).

        An HTTP error from the transport (the server went away mid-answer) ends them too:
        the SDK would otherwise leave the calls waiting for answers that cannot come.
        """
        import httpx

        try:
            async with target:
                async for item in source:
                    if isinstance(item, httpx.HTTPError):
                        self._lost = f"{type(item).__name__}: {_clean(item, 200)}"
                        break
                    await target.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            pass
        finally:
            ended.set()

    def _crashed(self) -> None:
        """The server went away without being asked to (counted once per run)."""
        if self.state == "running":
            self.state, self.crashes = "crashed", self.crashes + 1

    def _call_error(self, name: str, exc: Exception) -> ToolFailure:
        from mcp.shared.exceptions import McpError

        if _is_closed(exc):
            self._crashed()
            again = (
                "it is started again on next use"
                if self.crashes < 2
                else f"it stays stopped (%groq mcp start {self.name} starts it)"
            )
            return ToolFailure(
                f"{self.label} stopped during the call to {name} (it crashed or exited)"
                f"{self._stderr_tail(': {}', f': {self._lost}' if self._lost else '')}; {again}"
            )
        if isinstance(exc, McpError):
            return ToolFailure(
                f"{self.label}: {name} failed: {_clean(exc.error.message)} (error {exc.error.code})"
            )
        return ToolFailure(f"{self.label}: {name} failed: {type(exc).__name__}: {_clean(exc)}")

    # -- what is said about it ----------------------------------------------------------

    def _start_error(self, exc: BaseException) -> MCPServerError:
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            return MCPServerError(f"{self.label}: its start was interrupted")
        if isinstance(exc, FileNotFoundError) and isinstance(self.spec, StdioServer):
            return MCPServerError(
                f"{self.label}: command {self.spec.command!r} was not found (is it installed,"
                " and on PATH?)"
            )
        if _is_closed(exc):
            said = self._stderr_tail(": {}", " (nothing on stderr)")
            return MCPServerError(f"{self.label} exited as it started{said}")
        where = f" at {describe(self.spec)}" if isinstance(self.spec, HttpServer) else ""
        return MCPServerError(
            f"{self.label}{where} could not be started: {type(exc).__name__}: {_clean(exc)}"
            f"{self._stderr_tail(' (stderr: {})')}"
        )

    def _stderr_tail(self, template: str, otherwise: str = "") -> str:
        """The server's last stderr line in ``template`` (key-shaped text redacted)."""
        file = self._stderr
        if file is None or file.closed:
            return otherwise
        with contextlib.suppress(OSError, ValueError):
            file.flush()
            size = file.seek(0, 2)
            file.seek(max(0, size - _STDERR_CHARS))
            lines = [ln for ln in file.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            if lines:
                return template.format(_clean(lines[-1], 200))
        return otherwise

    def status(self) -> str:
        """``running · started in 0.41 s · 3 tools``, ``stopped``, ``crashed``."""
        if self.state != "running":
            return self.state
        seconds = f" · started in {self.start_seconds:.2f} s" if self.start_seconds else ""
        return f"running{seconds} · {len(self.tools)} tool{'' if len(self.tools) == 1 else 's'}"


def _clean(text: object, limit: int = 300) -> str:
    return redact(one_line(str(text), limit))


async def _first_of(*events: anyio.Event) -> None:
    """Wait until any of ``events`` is set."""
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)


async def _all_tools(session: ClientSession) -> list[Tool]:
    """Every tool the server lists, following its pages (at most 100 of them)."""
    from mcp.types import PaginatedRequestParams

    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(100):
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor))
        tools.extend(page.tools)
        cursor = page.nextCursor
        if not cursor:
            break
    return tools
