"""The fuzzing budget: small in the test command, at least 100,000 examples on demand.

``HYPOTHESIS_PROFILE=large .venv/bin/python -m pytest tests/fuzz -q`` runs every property
with 100,000 examples; without it each property runs ``SMALL`` examples, so the default
test command stays fast. The settings are applied per test (not loaded as a global
profile), so other Hypothesis tests in the suite keep their own budgets.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SMALL = 200
LARGE = 100_000

settings.register_profile(
    "fuzz-small", max_examples=SMALL, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "large", max_examples=LARGE, deadline=None, suppress_health_check=list(HealthCheck)
)

PROFILE = "large" if os.environ.get("HYPOTHESIS_PROFILE", "") == "large" else "fuzz-small"
FUZZ = settings.get_profile(PROFILE)
