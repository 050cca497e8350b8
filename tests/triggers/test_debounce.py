"""The debounce of upload-triggered runs, on both state backends (memory and a real Redis),
driven by an injected clock so no test waits for real time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import redis

from karet_worker.triggers.debounce import (
    Debouncer,
    DebounceState,
    MemoryDebounceState,
    RedisDebounceState,
)

QUIET, MAX_WAIT, LEASE = 5_000, 30_000, 30_000
A, B = "pipelines/a/", "pipelines/b/"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest) -> Iterator[DebounceState]:
    if request.param == "memory":
        yield MemoryDebounceState()
        return
    target = request.getfixturevalue("redis_target")
    client = redis.Redis.from_url(target.url)
    try:
        yield RedisDebounceState(client, target.queue_prefix)
    finally:
        client.close()


class Harness:
    """A debouncer whose submits are recorded, and a clock the test moves."""

    def __init__(self, state: DebounceState, *, fail: bool = False) -> None:
        self.clock = Clock()
        self.submitted: list[str] = []
        self.fail = fail
        self.debouncer = Debouncer(
            state,
            self._submit,
            quiet_ms=QUIET,
            max_wait_ms=MAX_WAIT,
            lease_ms=LEASE,
            clock=self.clock,
        )

    def _submit(self, prefix: str) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.submitted.append(prefix)

    def at(self, offset_ms: int) -> Harness:
        self.clock.now = 1_000_000 + offset_ms
        return self


def test_a_burst_fires_once_quiet_after_its_last_event(state: DebounceState) -> None:
    h = Harness(state)
    for offset in range(0, 4_000, 100):  # 40 events over 4 s
        h.at(offset).debouncer.record(A)
    assert h.at(3_900 + QUIET - 1).debouncer.fire_due() == []
    assert h.at(3_900 + QUIET).debouncer.fire_due() == [A]
    assert h.at(60_000).debouncer.fire_due() == []  # released: nothing fires again
    assert h.submitted == [A]


def test_a_steady_trickle_fires_at_the_max_wait(state: DebounceState) -> None:
    h = Harness(state)
    fired_at = []
    for offset in range(0, 40_000, 1_000):  # one event a second, never quiet for 5 s
        h.at(offset).debouncer.record(A)
        if h.debouncer.fire_due():
            fired_at.append(offset)
    # The first burst is capped at 30 s; the events after it start a second burst.
    assert fired_at == [MAX_WAIT]
    assert h.at(39_000 + QUIET).debouncer.fire_due() == [A]
    assert h.submitted == [A, A]


def test_record_returns_the_fire_time(state: DebounceState) -> None:
    h = Harness(state)
    assert h.at(0).debouncer.record(A) == h.clock.now + QUIET
    assert h.at(28_000).debouncer.record(A) == 1_000_000 + MAX_WAIT


def test_pipelines_are_debounced_independently(state: DebounceState) -> None:
    h = Harness(state)
    h.at(0).debouncer.record(A)
    h.at(3_000).debouncer.record(B)
    assert h.at(QUIET).debouncer.fire_due() == [A]
    assert h.at(3_000 + QUIET).debouncer.fire_due() == [B]


def test_a_failed_submit_is_retried_after_the_lease(state: DebounceState) -> None:
    h = Harness(state, fail=True)
    h.at(0).debouncer.record(A)
    assert h.at(QUIET).debouncer.fire_due() == []
    h.fail = False
    assert h.at(QUIET + LEASE - 1).debouncer.fire_due() == []
    assert h.at(QUIET + LEASE).debouncer.fire_due() == [A]
    assert h.submitted == [A]


def test_an_event_after_the_take_starts_a_new_burst(state: DebounceState) -> None:
    h = Harness(state)
    h.at(0).debouncer.record(A)
    taken = state.take_due(QUIET + 1_000_000, LEASE)  # a process took it, not submitted yet
    assert taken.prefixes == [A]
    h.at(QUIET + 100).debouncer.record(A)  # new upload while that run is being submitted
    state.release(A, taken.lease)  # the first process is done: must not drop the new burst
    assert h.at(QUIET + 100 + QUIET).debouncer.fire_due() == [A]


def test_two_debouncers_sharing_state_fire_each_burst_once(state: DebounceState) -> None:
    """Several `serve` processes: events land on either, ticks run on both."""
    one, two = Harness(state), Harness(state)
    for offset, h in zip(range(0, 2_000, 100), itertools.cycle([one, two]), strict=False):
        h.at(offset).debouncer.record(A)
        h.debouncer.record(B)
    for offset in range(0, 20_000, 250):
        one.at(offset).debouncer.fire_due()
        two.at(offset).debouncer.fire_due()
    assert sorted(one.submitted + two.submitted) == [A, B]


def test_pending_counts_open_and_leased_bursts(state: DebounceState) -> None:
    h = Harness(state, fail=True)
    assert state.pending() == 0
    h.at(0).debouncer.record(A)
    h.debouncer.record(B)
    assert state.pending() == 2
    h.at(QUIET).debouncer.fire_due()  # both submits fail: still leased
    assert state.pending() == 2
    h.fail = False
    h.at(QUIET + LEASE).debouncer.fire_due()
    assert state.pending() == 0
