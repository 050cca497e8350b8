"""Body-size limit (KARET_MAX_BODY_BYTES): 413 whether the size is declared or only streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import MakeClient, assert_envelope

LIMIT = 1000


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


@pytest.mark.parametrize("path", ["/config/validate", "/jobs/run"])
def test_declared_content_length_over_the_limit_is_413(make_client: MakeClient, path: str) -> None:
    client = make_client(max_body_bytes=LIMIT)
    response = client.post(path, content=b" " * (LIMIT + 1))
    assert response.status_code == 413
    assert_envelope(response.json(), "payload_too_large")
    assert str(LIMIT) in response.json()["message"]


@pytest.mark.parametrize("path", ["/config/validate", "/jobs/run"])
def test_chunked_body_over_the_limit_is_413(make_client: MakeClient, path: str) -> None:
    client = make_client(max_body_bytes=LIMIT)
    response = client.post(path, content=chunks(LIMIT + 1))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert_envelope(response.json(), "payload_too_large")


def test_body_at_the_limit_is_accepted(
    make_client: MakeClient, demo_config: dict[str, Any]
) -> None:
    payload = json.dumps(demo_config).encode()
    client = make_client(max_body_bytes=len(payload))
    assert client.post("/config/validate", content=payload).status_code == 200
    padded = payload + b" "
    assert client.post("/config/validate", content=padded).status_code == 413


def test_chunked_body_under_the_limit_reaches_the_route(
    make_client: MakeClient, demo_config: dict[str, Any]
) -> None:
    payload = json.dumps(demo_config).encode()
    client = make_client(max_body_bytes=len(payload))

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(payload), 97):
            yield payload[start : start + 97]

    response = client.post("/config/validate", content=pieces())
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_invalid_content_length_is_400(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=LIMIT)
    response = client.post("/config/validate", content=b"{}", headers={"Content-Length": "x"})
    assert response.status_code == 400
    assert_envelope(response.json(), "invalid_request")
