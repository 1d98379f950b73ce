"""The fake credentials the tests use, recognisable so outputs can be scanned for leaks."""

from __future__ import annotations

# Looks like a Groq key (gsk_ prefix) so any code that special-cases the shape still sees one.
FAKE_KEY = "gsk_test_SECRETKEY123"

# Strings that must never appear in a message, repr, str or traceback the client produces.
SECRET_MARKERS = (FAKE_KEY, "SECRETKEY123", "Bearer")


def assert_no_secret(text: str) -> None:
    """Fail if ``text`` shows the fake key (or part of it) or an Authorization value."""
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{marker!r} leaked into: {text[:500]!r}"


def forget_keys() -> None:
    """Drop every key the kernel registered for redaction, as a new process starts.

    A kernel never forgets a key it has seen, so the package has no call for this;
    tests that register an unusual key clear the registry after themselves.
    """
    import groq_magic._keys as registry

    with registry._lock:
        registry._keys = ()
