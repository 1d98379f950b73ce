"""The client's import surface: light (no IPython, no widgets) and the public names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import groq_magic.client as client_module

PUBLIC = {
    "Groq", "AsyncGroq", "Stream", "AsyncStream",
    "ChatCompletion", "ChatCompletionChunk", "CompletionUsage", "ChatCompletionMessage",
    "Choice", "ChoiceDelta", "ChoiceDeltaToolCall", "ChunkChoice", "ErrorDetail",
    "ExecutedTool", "XGroq",
    "ModelList", "Model", "RateLimits", "ClientTimings",
    "GroqError", "ArgumentError", "APIError", "APIConnectionError", "APITimeoutError",
    "APIStatusError", "APIResponseValidationError", "APIStreamError", "BadRequestError",
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
    "RequestTooLargeError", "UnprocessableEntityError", "RateLimitError",
    "CapacityExceededError", "InternalServerError", "DEFAULT_BASE_URL",
    "MISSING_KEY_MESSAGE",
    "FileObject", "FileList", "FileDeleted", "FileContent",
    "Batch", "BatchList", "BatchRequestCounts", "BatchErrors", "BatchError",
    "BatchOutputLine", "BatchLineResponse", "BatchLineError", "parse_batch_output",
    "TERMINAL_BATCH_STATUSES",
    # For the layers above (nothing outside the package imports its _modules).
    "error_wait_hint", "error_is_retryable", "error_retry_delay", "backoff_delay",
    "status_error_class", "ENDPOINT_NOT_FOUND", "Secret", "resolve_base_url",
    "SSEDecoder", "ServerSentEvent",
}  # fmt: skip


def test_import_pulls_in_neither_ipython_nor_widgets() -> None:
    code = (
        "import sys\n"
        "import groq_magic.client\n"
        "from groq_magic.client import Groq, AsyncGroq\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('IPython', 'ipywidgets', 'ipykernel', 'traitlets'))\n"
        "print(','.join(bad))\n"
        "print('ok' if 'httpx' in sys.modules else 'no httpx')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded, marker = result.stdout.splitlines()
    assert loaded == ""
    assert marker == "ok"


def test_top_level_package_import_is_lazy() -> None:
    code = (
        "import sys\n"
        "import groq_magic\n"
        "print(int('groq_magic.client' in sys.modules), int('IPython' in sys.modules))\n"
        "groq_magic.Groq\n"
        "print(int('groq_magic.client' in sys.modules), int('IPython' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0", "1", "0"]


def test_public_names() -> None:
    exported = set(client_module.__all__)
    # Exactly these: a name added to (or dropped from) the surface is a decision made here.
    assert exported == PUBLIC, (sorted(PUBLIC - exported), sorted(exported - PUBLIC))
    for name in client_module.__all__:
        assert hasattr(client_module, name), name


def test_nothing_outside_the_client_imports_its_private_modules() -> None:
    root = Path(client_module.__file__).parents[2]
    private = re.compile(r"\bgroq_magic\.client\._[a-z]|\bfrom groq_magic\.client import _")
    owned = root / "groq_magic" / "client"
    found = {
        path.relative_to(root).as_posix()
        for folder in ("groq_magic", "tests", "bench")
        for path in sorted((root / folder).rglob("*.py"))
        if owned not in path.parents
        for line in path.read_text(encoding="utf-8").splitlines()
        if private.search(line) and line.lstrip().startswith(("from ", "import "))
    }
    assert found == set(), sorted(found)


def test_error_tree() -> None:
    c = client_module
    assert issubclass(c.ArgumentError, c.GroqError)
    assert issubclass(c.ArgumentError, ValueError)
    assert issubclass(c.APIError, c.GroqError)
    assert issubclass(c.APITimeoutError, c.APIConnectionError)
    for name in ("APIConnectionError", "APIResponseValidationError", "APIStreamError",
                 "APIStatusError"):  # fmt: skip
        assert issubclass(getattr(c, name), c.APIError), name
    for name in ("BadRequestError", "AuthenticationError", "PermissionDeniedError",
                 "NotFoundError", "ConflictError", "RequestTooLargeError",
                 "UnprocessableEntityError", "RateLimitError", "CapacityExceededError",
                 "InternalServerError"):  # fmt: skip
        assert issubclass(getattr(c, name), c.APIStatusError), name


def test_public_names_have_docstrings() -> None:
    for name in client_module.__all__:
        value = getattr(client_module, name)
        if isinstance(value, type):
            assert (value.__doc__ or "").strip(), name
