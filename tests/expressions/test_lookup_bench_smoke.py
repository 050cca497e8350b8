"""A tiny run of bench/lookup_bench.py keeps it from rotting and re-checks the compiled lookup
against the benchmark's per-row Python matcher. No timing assertions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "lookup_bench.py"


def load_bench() -> ModuleType:
    name = "karet_bench_lookup_bench"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_tiny_lookup_bench_agrees_with_the_python_matcher() -> None:
    bench = load_bench()
    result = bench.run(rows=4000, lookup_rows=300, sample=4000, seed=3, repeat=1)
    assert result["sample_mismatches"] == 0
    assert 0.3 < result["matched_share"] < 0.9  # the workload really exercises matches


def test_main_prints_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    code = bench.main(["--rows", "2000", "--lookup-rows", "50", "--sample", "500", "--repeat", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "ratio polars (streaming)/python" in out
    assert "0 mismatches" in out
