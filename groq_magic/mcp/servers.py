"""The kernel's MCP servers: each started on first use, kept, and stopped at exit.

:class:`MCPServers` is what a turn asks for tools (``--mcp NAMES``: it is the
chat layer's :class:`~groq_magic.chat.tools.remote.RemoteTools`) and what
``%groq mcp`` lists, starts and stops. Its servers live on one event loop in a
background thread of their own (:class:`~groq_magic._loop.BackgroundLoop`), off the
kernel's; the kernel's thread waits only for a start or a call, in short polls, so
the stop button ends the wait and cancels what it waited for.

A server that crashed is started again on its next use, once, and the status line
says so; if it crashes again it stays down until ``%groq mcp stop NAME`` (or a
``start``) clears it. A server whose configuration changed is restarted with the new one.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from typing import Any

from groq_magic._loop import BackgroundLoop
from groq_magic.chat.tools.remote import RemoteToolset
from groq_magic.mcp.config import MCPSettings, ServerSpec, configured_servers, describe
from groq_magic.mcp.connection import Connection, MCPServerError
from groq_magic.mcp.tools import one_line_description, remote_tools


def sdk_missing() -> str | None:
    """One line when the ``mcp`` SDK is not installed, else None."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        return "--mcp needs the MCP SDK: pip install 'groq-magic[mcp]'"
    return None


__all__ = ["MCPServers", "kernel_servers", "sdk_missing"]

_EXIT_WAIT = 10.0  # seconds the kernel's exit waits for its servers to stop


class MCPServers:
    """Named MCP servers started from a configuration (read anew at every use)."""

    def __init__(
        self,
        settings: Callable[[], MCPSettings] | None = None,
        loop: BackgroundLoop | None = None,
    ) -> None:
        self.settings = settings or MCPSettings
        self._loop = loop or BackgroundLoop("groq-magic-mcp")
        self._connections: dict[str, Connection] = {}
        self._lock = threading.RLock()

    # -- what a turn asks for ---------------------------------------------------------------

    def toolset(self, servers: Sequence[str]) -> RemoteToolset:
        """Every tool of ``servers``, each started if need be; one line when one can't be."""
        settings = self.settings()
        specs = configured_servers(settings)
        missing = sdk_missing()
        if missing is not None:
            raise MCPServerError(missing)
        for name in servers:
            if name not in specs:
                known = ", ".join(specs) or "none configured: see %config GroqMagics.mcp_servers"
                raise MCPServerError(f"--mcp: no mcp server named '{name}' (servers: {known})")
        tools, notes = [], []
        for name in servers:
            connection, note = self._ready(specs[name], settings.start_timeout)
            if note:
                notes.append(note)
            tools.extend(remote_tools(connection, self._loop))
        return RemoteToolset(tools, tuple(notes))

    def _ready(self, spec: ServerSpec, timeout: float) -> tuple[Connection, str | None]:
        """The running connection for ``spec``, and what its start says on the status line."""
        with self._lock:
            connection = self._connections.get(spec.name)
            changed = connection is not None and connection.spec != spec
            if connection is not None and changed:
                self._run(connection.stop(), connection)
            if connection is None or changed:
                connection = self._connections[spec.name] = Connection(spec)
            if connection.state == "running":
                return connection, None
            crashed = connection.state == "crashed"
            if crashed and connection.crashes > 1:
                raise MCPServerError(
                    f"{connection.label} crashed again after its restart, so it was left"
                    f" stopped; %groq mcp start {spec.name} tries again"
                )
            seconds = self._run(connection.start(timeout), connection)
        if crashed:
            return connection, f"mcp {spec.name} restarted after a crash in {seconds:.2f} s"
        how = "restarted (its configuration changed)" if changed else "started"
        return connection, f"mcp {spec.name} {how} in {seconds:.2f} s"

    def _run(self, work: Any, connection: Connection) -> Any:
        """Wait for ``work`` on the MCP loop; the stop button makes it one line."""
        try:
            return self._loop.run(work)
        except KeyboardInterrupt:
            raise MCPServerError(
                f"{connection.label}: interrupted while it was starting; nothing was sent"
            ) from None

    # -- %groq mcp ---------------------------------------------------------------------------

    def start(self, name: str) -> str:
        """``%groq mcp start NAME``: (re)start one server now; the line saying so."""
        self.stop(name)
        toolset = self.toolset([name])
        count = len(toolset.tools)
        return f"{toolset.notes[0]}: {count} tool{'' if count == 1 else 's'}"

    def stop(self, name: str | None = None) -> list[str]:
        """Stop one server (or all); the names that were running. A crash record is forgotten."""
        with self._lock:
            names = [name] if name is not None else list(self._connections)
            stopped = []
            for each in names:
                connection = self._connections.pop(each, None)
                if connection is None:
                    continue
                if connection.state == "running":
                    stopped.append(each)
                self._loop.run(connection.stop(), timeout=_EXIT_WAIT)
            return stopped

    def running(self) -> list[str]:
        """The names of the servers running now."""
        with self._lock:
            return [n for n, c in self._connections.items() if c.state == "running"]

    def listing(self) -> list[dict[str, str]]:
        """``%groq mcp``: each configured server, whether it runs, and its tools."""
        specs = configured_servers(self.settings())
        rows: list[dict[str, str]] = []
        for name, spec in specs.items():
            connection = self._connections.get(name)
            head = {"server": name, "runs": describe(spec)}
            if connection is None or connection.state != "running":
                state = connection.state if connection is not None else "stopped"
                hint = f"(listed once it runs: --mcp {name}, or %groq mcp start {name})"
                rows.append({**head, "status": state, "tool": "", "description": hint})
                continue
            status = connection.status()
            for n, tool in enumerate(connection.tools or [None]):
                first = n == 0
                rows.append(
                    {
                        "server": name if first else "",
                        "runs": head["runs"] if first else "",
                        "status": status if first else "",
                        "tool": tool.name if tool is not None else "(no tools)",
                        "description": one_line_description(tool) if tool is not None else "",
                    }
                )
        return rows


_KERNEL: MCPServers | None = None
_KERNEL_LOCK = threading.Lock()


def kernel_servers(settings: Callable[[], MCPSettings] | None = None) -> MCPServers:
    """The process's servers (created on first use; all stopped when the process exits).

    ``settings`` (when given) becomes where the configuration is read from.
    """
    global _KERNEL
    with _KERNEL_LOCK:
        if _KERNEL is None:
            _KERNEL = MCPServers()
            atexit.register(_stop_at_exit, _KERNEL)
        if settings is not None:
            _KERNEL.settings = settings
        return _KERNEL


def _stop_at_exit(servers: MCPServers) -> None:
    try:
        servers.stop()
    except BaseException:  # the process is ending; nothing is left to tell
        pass
