"""Hypothesis settings of the engine's fuzz and property tests.

In the suite they are derandomized (the same examples on every machine, bounded to seconds).
For a long exploratory run, set KARET_FUZZ_EXAMPLES (e.g. 5000): examples are then random.

    KARET_FUZZ_EXAMPLES=5000 uv run pytest tests/engine/test_csv_fuzz.py -q
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_LONG = os.environ.get("KARET_FUZZ_EXAMPLES")


def fuzz_settings(examples: int) -> settings:
    """`examples` examples, derandomized; or KARET_FUZZ_EXAMPLES random ones when it is set."""
    return settings(
        max_examples=int(_LONG) if _LONG else examples,
        derandomize=not _LONG,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
