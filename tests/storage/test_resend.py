"""A read whose request failed before any answer came (a connection reset: "error sending
request") is sent again; obstore 0.12.1's client gives up on it without a retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from obstore.exceptions import GenericError
from obstore.store import LocalStore

from karet_worker.storage import StorageUnavailable
from karet_worker.storage.obstore_store import RESEND_DELAYS_S, ObstoreStore

RESET = (
    "Generic S3 error: Error performing GET http://s3/b/k in 1.2ms - "
    "HTTP error: error sending request"
)


def _failing(times: int, message: str = RESET) -> tuple[Callable[[], str], list[int]]:
    calls = [0]

    def call() -> str:
        calls[0] += 1
        if calls[0] <= times:
            raise GenericError(message)
        return "answer"

    return call, calls


@pytest.fixture
def store(tmp_path: Path) -> ObstoreStore:
    return ObstoreStore(LocalStore(str(tmp_path)), where="test", bulk_delete=False)


def test_a_reset_read_is_sent_again(store: ObstoreStore) -> None:
    call, calls = _failing(len(RESEND_DELAYS_S))
    assert store._call("get", "k", call, resend=True) == "answer"
    assert calls == [len(RESEND_DELAYS_S) + 1]


def test_resets_beyond_the_resends_fail_with_a_short_message(store: ObstoreStore) -> None:
    call, calls = _failing(len(RESEND_DELAYS_S) + 1)
    with pytest.raises(StorageUnavailable, match="storage unavailable: get 'k' on test failed"):
        store._call("get", "k", call, resend=True)
    assert calls == [len(RESEND_DELAYS_S) + 1]


def test_a_write_or_another_failure_is_not_sent_again(store: ObstoreStore) -> None:
    call, calls = _failing(1)
    with pytest.raises(StorageUnavailable):
        store._call("put", "k", call)  # a put is not resent here: obstore's own retries only
    assert calls == [1]
    call, calls = _failing(1, "Generic S3 error: HTTP status client error (403 Forbidden)")
    with pytest.raises(StorageUnavailable, match="403 Forbidden"):
        store._call("get", "k", call, resend=True)
    assert calls == [1]
