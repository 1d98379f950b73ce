"""Who says yes before a tool runs: ``--approve ask|always|never``.

An MCP server's tools run code the user did not write, so by default each call is
shown and waits for a yes (``ask``); notebook functions the user wrote run as they
always did (``always``) unless the cell (or ``%config GroqMagics.approve``) says
otherwise, which then holds for every tool of the turn. ``never`` runs nothing.

The chat layer cannot show a button or read a keyboard: whoever runs the turn hands
in an :class:`Approver` (``groq_magic.ui.approval`` has the notebook's buttons and
the terminal's y/n prompt). An approver answers True (run it), False (denied) or
None (no one could answer: a kernel with no frontend and no stdin). A refused call is
not an error of the turn: its line goes back to the model, which answers without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from groq_magic.chat.tools._box import Gate, ToolOutcome
from groq_magic.chat.tools._tool import Tool

__all__ = [
    "DENIED",
    "NEVER",
    "UNANSWERED",
    "ApprovalRequest",
    "Approver",
    "Policy",
    "approval_gate",
    "no_one_to_ask",
]

Policy = Literal["ask", "always", "never"]

NEVER = "not run: this cell runs no tools (--approve never); answer without this call"
DENIED = "not run: the user denied this call; answer without it"
UNANSWERED = (
    "not run: this call needs the user's approval (--approve ask) and no one can answer"
    " here (no frontend, no stdin); --approve always runs tools without asking"
)


@dataclass(frozen=True)
class ApprovalRequest:
    """One call waiting for a yes: the tool, its server (None: a notebook function), arguments."""

    tool: str
    server: str | None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    call_id: str = ""

    @property
    def where(self) -> str:
        """``mcp server 'web'`` or ``a notebook function``."""
        return f"mcp server '{self.server}'" if self.server else "a notebook function"

    def describe(self, limit: int = 300) -> str:
        """``search(query="groq")`` with its arguments as JSON, clipped to ``limit``."""
        args = ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False, default=str)}"
            for k, v in self.arguments.items()
        )
        text = f"{self.tool}({args})"
        return text if len(text) <= limit else text[: limit - 1] + "…"


class Approver(Protocol):
    """Asks the user about one call: True runs it, False denies it, None: no one answered."""

    def __call__(self, request: ApprovalRequest) -> bool | None:
        """The user's answer to ``request``."""


def no_one_to_ask(request: ApprovalRequest) -> bool | None:
    """The approver where nothing can ask: every call that needs a yes is refused."""
    return None


def approval_gate(setting: str | None, approver: Approver | None = None) -> Gate:
    """The ToolBox gate for ``--approve setting`` (None: ask for MCP tools, run functions)."""
    ask = approver if approver is not None else no_one_to_ask

    def gate(tool: Tool, outcome: ToolOutcome) -> str | None:
        server = getattr(tool, "server", None) or None
        policy = setting or ("ask" if server else "always")
        if policy == "always":
            return None
        if policy == "never":
            return NEVER
        answer = ask(ApprovalRequest(tool.name, server, dict(outcome.arguments), outcome.id))
        if answer is None:
            return UNANSWERED
        return None if answer else DENIED

    return gate
