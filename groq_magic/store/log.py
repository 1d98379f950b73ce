"""The session's :class:`~groq_magic.chat.prepare.TurnLog`: every turn kept in the store.

The engine talks to a turn's log and nothing else (see ``TurnLog``); this is the
log a kernel's session gives every road (cell, retry, panel, compare, sweep):

- ``replay``: with ``--cache``, the newest complete stored answer to the very same
  request body sent to the same server, as a :class:`~groq_magic.chat.Turn` the
  engine shows at once (tool lines, thinking, text, tool rounds);
- ``record`` / ``record_failure``: each turn that ends, and each that fails
  (a ``--cache`` replay only when it entered its chat: it is no new request),
  with its chat, cell id, turn id (and the turn it replaced), the notebook when
  the frontend says which, the server's URL (its host is what is stored), never
  the key. Whether the turn entered its conversation is read from the
  conversation itself, so ``--no-history`` cells and compare runs are stored
  but never restored;
- ``cost``: the price table (``%config GroqMagics.prices`` applied).

Nothing here raises into a turn: the store's own policy holds (one warning line;
writes wait for a fault that passes, the store turns off for one that lasts). No
IPython import: the notebook path is read from the namespace and environment handed
in (:func:`notebook_path`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from groq_magic.store._db import Store
from groq_magic.store._exchange import Exchange
from groq_magic.store._queries import NO_NOTEBOOK
from groq_magic.store._restore import conversations_from_turns, turn_from_step
from groq_magic.store._rows import turn_step
from groq_magic.store.prices import cost

if TYPE_CHECKING:
    from groq_magic.chat.conversation import Conversation, Turn
    from groq_magic.chat.prepare import PreparedTurn
    from groq_magic.chat.result import ChatResult

__all__ = ["NOTEBOOK_NAMES", "StoreLog", "StoreSettings", "notebook_path"]

NOTEBOOK_NAMES = ("__vsc_ipynb_file__", "__session__")
"""Namespace variables a frontend sets to the notebook's path (VS Code; ipykernel from
``JPY_SESSION_NAME``, which jupyter_server gives each notebook's kernel)."""


def notebook_path(
    namespace: Mapping[str, Any] | None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """The running notebook's path when the frontend tells it, else None (best effort)."""
    for name in NOTEBOOK_NAMES:
        value = (namespace or {}).get(name)
        if isinstance(value, str) and value.strip():
            return value
    return environ.get("JPY_SESSION_NAME") or None


@dataclass(frozen=True)
class StoreSettings:
    """What the configuration says about the store, read at every turn.

    ``path``: the SQLite file, ``none`` for off, None for ``$GROQ_MAGIC_STORE`` or
    the user data folder. ``prices``: an override of the price table (a dict or a
    JSON file path). ``show_cost``: the status line shows each turn's cost.
    ``notebook``: the running notebook's path, when known.
    """

    path: str | None = None
    prices: Any = None
    show_cost: bool = False
    notebook: str | None = None

    def same_store(self, other: StoreSettings) -> bool:
        """True when ``other`` opens the same file with the same prices."""
        return (self.path, self.prices) == (other.path, other.prices)


class StoreLog:
    """The ``TurnLog`` over a :class:`Store` (see the module docstring).

    ``server`` returns the URL the next request goes to (the cache key's server);
    it is asked once per turn.
    """

    def __init__(
        self,
        store: Store,
        *,
        server: Callable[[], str | None],
        settings: StoreSettings | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or StoreSettings()
        self._server = server
        self._turn_server: tuple[object, str | None] | None = None
        self.batch = False

    def for_batch(self) -> StoreLog:
        """The log of the Batch API road: its answers are priced with the batch discount
        and stored marked as batch answers (the same store, settings and server)."""
        log = StoreLog(self.store, server=self._server, settings=self.settings)
        log.batch = True
        return log

    def __repr__(self) -> str:
        return f"<StoreLog {self.store!r}>"

    # -- what the engine calls ------------------------------------------------------

    @property
    def show_cost(self) -> bool:
        """True when the status line shows each turn's cost."""
        return self.settings.show_cost

    def cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        """USD for ``usage`` of ``model`` (None: the price is unknown; 0: the local model)."""
        return cost(model, usage, batch=self.batch, prices=self.store.prices)

    def server_url(self, prep: PreparedTurn) -> str | None:
        """The server ``prep`` goes to, asked once per turn (replay and record share it)."""
        memo = self._turn_server
        if memo is not None and memo[0] is prep:
            return memo[1]
        url = self._server()
        self._turn_server = (prep, url)
        return url

    def replay(self, prep: PreparedTurn) -> Turn | None:
        """The newest complete stored answer to ``prep.request`` on the same server, or None."""
        if not self.store.enabled:
            return None
        url = self.server_url(prep)
        if url is None:
            return None
        found = self.store.replay(prep.request, url)
        return None if found is None else turn_from_step(turn_step(found))

    def record(self, prep: PreparedTurn, result: ChatResult) -> None:
        """Store a turn that ended; whether it entered its chat is read from the chat."""
        if not self.store.enabled:
            return
        turn = result.turn
        conversation = prep.conversation
        entered = (
            turn is not None
            and conversation is not None
            and any(t is turn for t in reversed(conversation.turns))
        )
        if result.cached and not entered:
            # A replay is stored only as a turn of its chat (for restore and undo); a
            # compare or sweep row replayed from the store would be the original again.
            # (A panel run that is kept later is written then: see kept.)
            return
        self._write(prep, result, chat=prep.chat, replaces=prep.replaces, entered=entered)

    def _write(
        self,
        prep: PreparedTurn,
        result: ChatResult,
        *,
        chat: str,
        replaces: str | None,
        entered: bool,
    ) -> None:
        conversation = prep.conversation
        self.store.record(
            Exchange.from_result(
                result,
                base_url=self.server_url(prep),
                chat=chat,
                cell_id=prep.cell_id,
                notebook=self.settings.notebook,
                turn=result.turn,
                replaces=replaces,
                system=conversation.system if conversation is not None else None,
                history=entered,
                batch=self.batch,
            )
        )

    def record_failure(self, prep: PreparedTurn, error: str) -> None:
        """Store a turn that failed: its request and the error line (never replayed)."""
        if not self.store.enabled:
            return
        conversation = prep.conversation
        self.store.record(
            Exchange(
                request=prep.request,
                status="error",
                error=error,
                model=prep.model,
                base_url=self.server_url(prep),
                chat=prep.chat,
                prompt=prep.prompt,
                cell_id=prep.cell_id,
                notebook=self.settings.notebook,
                replaces=prep.replaces,
                system=conversation.system if conversation is not None else None,
                options=prep.options.snapshot(),
                user_message=dict(prep.user_message),
                history=False,
            )
        )

    # -- history edits and commands ------------------------------------------------------

    def undone(self, chat: str, turn_id: str) -> None:
        """Note that ``%groq undo`` removed ``turn_id`` from ``chat`` (never raises)."""
        self.store.record_undo(chat, turn_id, notebook=self.settings.notebook)

    def kept(
        self,
        chat: str,
        turn_id: str,
        replaces: str | None = None,
        *,
        replayed: tuple[PreparedTurn, ChatResult] | None = None,
    ) -> None:
        """Note that a turn run outside history (the panel's) was kept into ``chat``.

        A run that was a ``--cache`` replay (``replayed``: its turn and result) was not
        stored when it ran, so it is written now, as a turn of ``chat``.
        """
        if not self.store.enabled:
            return
        if replayed is not None:
            prep, result = replayed
            self._write(prep, result, chat=chat, replaces=replaces, entered=True)
            return
        self.store.record_keep(chat, turn_id, replaces=replaces)

    def reset(self, chat: str) -> None:
        """Note that ``chat`` was reset: a restore starts after this (never raises)."""
        self.store.record_reset(chat, notebook=self.settings.notebook)

    def restore(self, chat: str | None = None) -> dict[str, Conversation]:
        """The stored chats of this notebook, rebuilt (or one chat, by name).

        Without a name: every chat this notebook stored (when the notebook is not
        known: the chats stored without one). A named chat comes from this notebook
        when it has it, else from wherever it was stored. A chat that was never
        stored is one StoreError line.
        """
        here = self.settings.notebook or NO_NOTEBOOK
        if chat is not None and chat not in self.store.chats(notebook=here):
            return conversations_from_turns(self.store.turns_for_restore(chat=chat))
        return conversations_from_turns(self.store.turns_for_restore(chat=chat, notebook=here))
