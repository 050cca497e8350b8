"""The helpers that overlap a run's stages (`engine/extract.py`): results come in input order,
errors surface where their item would have been, and stopping early leaves nothing running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from karet_worker.engine.extract import in_order, produce_ahead


def _items(n: int) -> Iterator[int]:
    yield from range(n)


def test_in_order_keeps_the_input_order_whatever_finishes_first() -> None:
    def work(n: int) -> int:
        time.sleep(0.02 if n % 2 == 0 else 0)  # even items finish after the odd ones after them
        return n * 10

    with ThreadPoolExecutor(4) as pool:
        assert list(in_order(_items(9), work, pool, ahead=3)) == [n * 10 for n in range(9)]


def test_in_order_runs_at_most_ahead_at_once() -> None:
    running = 0
    most = 0
    guard = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with guard:
            running -= 1
        return n

    with ThreadPoolExecutor(8) as pool:
        assert list(in_order(_items(12), work, pool, ahead=2)) == list(range(12))
    assert 1 <= most <= 2


def test_in_order_raises_at_the_failing_item() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("item 3")
        return n

    seen: list[int] = []
    with ThreadPoolExecutor(2) as pool, pytest.raises(ValueError, match="item 3"):
        for value in in_order(_items(6), work, pool, ahead=2):
            seen.append(value)
    assert seen == [0, 1, 2]


def test_closing_early_waits_for_the_work_in_flight() -> None:
    finished: list[int] = []

    def work(n: int) -> int:
        time.sleep(0.02)
        finished.append(n)
        return n

    with ThreadPoolExecutor(4) as pool:
        results = in_order(_items(100), work, pool, ahead=3)
        assert next(results) == 0
        results.close()  # the caller stops (a preview has its rows)
        done = list(finished)
        time.sleep(0.05)
        assert finished == done  # nothing was still running after close()
        assert len(finished) < 10


def test_in_order_over_produce_ahead_chains_the_stages() -> None:
    """The run's shape: parse ahead, evaluate two ahead, use the previous."""
    with ThreadPoolExecutor(4) as pool:
        parsed = produce_ahead((n for n in range(20)), ahead=4)
        assert list(in_order(parsed, lambda n: -n, pool, ahead=2)) == [-n for n in range(20)]


def test_produce_ahead_raises_where_the_generator_failed_and_closes_it() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield 1
            yield 2
            raise ValueError("third")
        finally:
            closed.set()

    seen: list[int] = []
    with pytest.raises(ValueError, match="third"):
        seen.extend(produce_ahead(items(), ahead=3))  # type: ignore[arg-type]
    assert seen == [1, 2]
    assert closed.is_set()


def test_closing_produce_ahead_early_closes_the_generator() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    reader = produce_ahead(items(), ahead=4)  # type: ignore[arg-type]
    assert next(reader) == 0
    reader.close()
    assert closed.is_set()


def test_light_items_are_worked_on_the_spot_and_take_no_slot() -> None:
    """A run's file markers pass straight through: with one slot, the chunks around a marker
    still run one at a time on the pool, the marker on the caller's thread, all in order."""
    where: dict[str, str] = {}

    def work(item: str) -> str:
        where[item] = threading.current_thread().name
        return item.upper()

    items = (s for s in ["a", "end-a", "b", "end-b"])
    with ThreadPoolExecutor(2, thread_name_prefix="pool") as pool:
        got = list(in_order(items, work, pool, ahead=1, heavy=lambda s: not s.startswith("end")))
    assert got == ["A", "END-A", "B", "END-B"]
    assert where["a"].startswith("pool") and where["b"].startswith("pool")
    assert where["end-a"] == where["end-b"] == threading.current_thread().name
