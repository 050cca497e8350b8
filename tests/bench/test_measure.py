"""The benchmark's process runner: what the measured process gets in its environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from measure import run_measured

# the child writes the names of the KARET_TEST_* variables it sees
_SHOW = (
    "import os, sys; "
    "sys.stderr.write(','.join(sorted(k for k in os.environ if k.startswith('KARET_TEST_'))))"
)


def test_a_variable_the_caller_left_out_stays_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run.py` leaves the S3 variables out of ours' local runs; they once came back."""
    monkeypatch.setenv("KARET_TEST_KEPT", "1")
    monkeypatch.setenv("KARET_TEST_LEFT_OUT", "1")
    env = {k: v for k, v in os.environ.items() if k != "KARET_TEST_LEFT_OUT"}
    measured = run_measured([sys.executable, "-c", _SHOW], env=env, use_gnu_time=False)
    assert measured.ok and measured.output_tail.strip() == "KARET_TEST_KEPT"


def test_without_env_the_child_gets_this_environment_but_writes_bytecode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KARET_TEST_KEPT", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    show = _SHOW + "; sys.stderr.write(' ' + str(sys.dont_write_bytecode))"
    measured = run_measured([sys.executable, "-c", show], use_gnu_time=False)
    assert measured.ok and measured.output_tail.strip() == "KARET_TEST_KEPT False"
