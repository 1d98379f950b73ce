"""The ``mcpServers`` configuration: where it comes from, and its shape, checked.

The shape is the one Claude Desktop, VS Code and jupyter-ai read from ``mcp.json``::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."],
                  "env": {"LOG_LEVEL": "warn"}},
        "docs": {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer ..."}}}}

An entry with ``command`` is a stdio server (``args``, ``env``, ``cwd`` optional), one
with ``url`` a streamable-HTTP server (``headers`` optional); ``type`` may say which
(``stdio``, ``http``). Sources, later ones winning by name: the JSON file that
``%config GroqMagics.mcp_config`` (else ``$GROQ_MAGIC_MCP_CONFIG``) names, whose
servers are under ``mcpServers`` (or VS Code's ``servers``), then the dict
``%config GroqMagics.mcp_servers``.

A configuration is data, never instructions: a server starts only when a cell names
it. Each problem is one :class:`MCPConfigError` line naming the source and the
server. ``env`` and ``headers`` values reach the server and nothing else: no line,
listing or error shows them (:func:`describe` redacts key-like arguments too).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from groq_magic._files import FileReadError, read_text_bounded
from groq_magic._keys import REDACTED, looks_like_key
from groq_magic.chat.errors import ChatError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_START_TIMEOUT",
    "HttpServer",
    "MCPConfigError",
    "MCPSettings",
    "ServerSpec",
    "StdioServer",
    "check_servers",
    "configured_servers",
    "describe",
    "read_config_file",
]

CONFIG_ENV = "GROQ_MAGIC_MCP_CONFIG"
"""The variable naming an ``mcp.json`` file (read when ``GroqMagics.mcp_config`` is unset)."""

DEFAULT_START_TIMEOUT = 60.0
"""Seconds a server may take to start and list its tools (``npx`` may download first)."""

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_STDIO_KEYS = ("command", "args", "env", "cwd")
_HTTP_KEYS = ("url", "headers")
_TYPES = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamableHttp": "http"}
_SECRET_FLAG = re.compile(r"(key|token|secret|password|auth)", re.IGNORECASE)
MAX_CONFIG_BYTES = 1024 * 1024  # an mcp.json is a few hundred bytes; a cap keeps reads bounded


class MCPConfigError(ChatError, ValueError):
    """The MCP configuration is not the documented shape (one line: source, server, problem)."""


@dataclass(frozen=True)
class StdioServer:
    """A server started as a child process, spoken to over its stdin and stdout."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cwd: str | None = None

    kind = "stdio"


@dataclass(frozen=True)
class HttpServer:
    """A streamable-HTTP server at ``url``; ``headers`` go with every request."""

    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    kind = "http"


ServerSpec = StdioServer | HttpServer


@dataclass(frozen=True)
class MCPSettings:
    """What the kernel is configured with: ``GroqMagics.mcp_servers``, ``mcp_config``, the wait."""

    servers: Mapping[str, Any] | None = None
    config_file: str | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _strings(value: object, what: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise MCPConfigError(f"{where}: {what} must be a list of strings (got {_kind(value)})")
    return tuple(value)


def _pairs(value: object, what: str, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise MCPConfigError(f"{where}: {what} must be an object of strings (got {_kind(value)})")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            # The value is never shown: it may be a key.
            raise MCPConfigError(
                f"{where}: {what} {str(key)!r} must be a string (got {_kind(item)})"
            )
    return tuple(value.items())


def _server(name: object, entry: object, source: str) -> ServerSpec:
    if not isinstance(name, str) or not _NAME.match(name):
        raise MCPConfigError(
            f"{source}: a server name must be letters, digits, '_', '-' or '.'"
            f" (64 at most; got {str(name)[:70]!r})"
        )
    where = f"{source}: server '{name}'"
    if not isinstance(entry, Mapping):
        raise MCPConfigError(f"{where} must be an object (got {_kind(entry)})")
    kind = entry.get("type")
    if kind is not None and kind not in _TYPES:
        raise MCPConfigError(
            f"{where}: type {kind!r} is not supported (stdio or http: streamable HTTP)"
        )
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        both = ", not both" if has_command else ""
        raise MCPConfigError(
            f'{where} needs "command" (a program to start) or "url" (a streamable-HTTP'
            f" server){both}"
        )
    if kind is not None and _TYPES[str(kind)] != ("stdio" if has_command else "http"):
        raise MCPConfigError(f"{where}: type {kind!r} does not go with {sorted(entry)}")
    allowed = ("type", *(_STDIO_KEYS if has_command else _HTTP_KEYS))
    for key in entry:
        if key not in allowed:
            takes = ", ".join(allowed[1:])
            raise MCPConfigError(f"{where}: unknown key {str(key)!r} (it takes {takes})")
    return _stdio(name, entry, where) if has_command else _http(name, entry, where)


def _stdio(name: str, entry: Mapping[str, Any], where: str) -> StdioServer:
    command = entry["command"]
    if not isinstance(command, str) or not command.strip():
        raise MCPConfigError(f"{where}: command must be a program name (got {_kind(command)})")
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise MCPConfigError(f"{where}: cwd must be a folder path (got {_kind(cwd)})")
    return StdioServer(
        name=name,
        command=command,
        args=_strings(entry.get("args", []), "args", where),
        env=_pairs(entry.get("env", {}), "env", where),
        cwd=cwd,
    )


def _http(name: str, entry: Mapping[str, Any], where: str) -> HttpServer:
    url = entry["url"]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = "a URL" if isinstance(url, str) else _kind(url)
        raise MCPConfigError(f"{where}: url must start with http:// or https:// (got {shown})")
    return HttpServer(name=name, url=url, headers=_pairs(entry.get("headers", {}), "header", where))


def check_servers(value: object, source: str) -> dict[str, ServerSpec]:
    """The servers of an ``mcpServers`` mapping; the first problem as one line."""
    if not isinstance(value, Mapping):
        raise MCPConfigError(
            f"{source} must be an object of server names to settings (got {_kind(value)})"
        )
    return {str(name): _server(name, entry, source) for name, entry in value.items()}


def read_config_file(path: str | os.PathLike[str]) -> dict[str, ServerSpec]:
    """The servers of an ``mcp.json`` file (``mcpServers``, or VS Code's ``servers``)."""
    shown = os.fspath(path)
    try:
        text = read_text_bounded(path, MAX_CONFIG_BYTES, what="mcp config")
    except FileReadError as exc:
        raise MCPConfigError(str(exc)) from None  # "cannot read mcp config '...': ..."
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MCPConfigError(
            f"mcp config {shown}: not JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    if not isinstance(data, Mapping):
        raise MCPConfigError(f"mcp config {shown}: expected an object (got {_kind(data)})")
    key = "mcpServers" if "mcpServers" in data else "servers" if "servers" in data else None
    if key is None:
        raise MCPConfigError(f'mcp config {shown}: no "mcpServers" object in it')
    return check_servers(data[key], f"mcp config {shown}")


def configured_servers(
    settings: MCPSettings, environ: Mapping[str, str] | None = None
) -> dict[str, ServerSpec]:
    """Every configured server by name: the file's, then ``GroqMagics.mcp_servers`` over it."""
    environ = os.environ if environ is None else environ
    found: dict[str, ServerSpec] = {}
    path = settings.config_file or environ.get(CONFIG_ENV) or None
    if path:
        found.update(read_config_file(path))
    if settings.servers:
        found.update(check_servers(settings.servers, "GroqMagics.mcp_servers"))
    return found


def _safe_words(words: tuple[str, ...]) -> list[str]:
    shown: list[str] = []
    for word in words:
        after_secret_flag = (
            bool(shown) and shown[-1].startswith("-") and _SECRET_FLAG.search(shown[-1])
        )
        flag, eq, _ = word.partition("=")
        if looks_like_key(word) or after_secret_flag:
            shown.append(REDACTED)
        elif eq and flag.startswith("-") and _SECRET_FLAG.search(flag):
            shown.append(f"{flag}={REDACTED}")
        else:
            shown.append(word)
    return shown


def describe(spec: ServerSpec) -> str:
    """What a listing shows of a server: its command line or URL, secrets redacted."""
    if isinstance(spec, StdioServer):
        return " ".join(_safe_words((spec.command, *spec.args)))
    url = re.sub(r"//[^/@]*@", "//", spec.url)  # no user:password@
    return REDACTED if looks_like_key(url) else url
