"""MCP (Model Context Protocol) servers' tools in a ``%%groq`` cell (``--mcp NAMES``).

- :mod:`~groq_magic.mcp.config`: the ``mcpServers`` configuration and its checks;
- :mod:`~groq_magic.mcp.connection`: one server's life on the MCP loop, and its calls;
- :mod:`~groq_magic.mcp.tools`: its tools as the chat layer's remote tools, results;
- :mod:`~groq_magic.mcp.servers`: the kernel's servers, started on first use.

Below ``ui/`` and free of IPython: the magic and the session hand in the
configuration, the chat layer sees only :class:`~groq_magic.chat.tools.remote.RemoteTools`.
The official ``mcp`` SDK (the ``groq-magic[mcp]`` extra) is imported only when a
server starts; without it, ``--mcp`` is one line saying how to install it.
"""

from __future__ import annotations

from groq_magic.mcp.config import (
    CONFIG_ENV,
    DEFAULT_START_TIMEOUT,
    MCPConfigError,
    MCPSettings,
    check_servers,
    configured_servers,
    read_config_file,
)
from groq_magic.mcp.connection import MCPServerError
from groq_magic.mcp.servers import MCPServers, kernel_servers, sdk_missing

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_START_TIMEOUT",
    "MCPConfigError",
    "MCPServerError",
    "MCPServers",
    "MCPSettings",
    "check_servers",
    "configured_servers",
    "kernel_servers",
    "read_config_file",
    "sdk_missing",
]
