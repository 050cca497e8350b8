"""Bearer token on POST endpoints when KARET_WORKER_TOKEN is set (SPEC §7)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import MakeClient, assert_envelope

TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong", "other-scheme", "longer", "empty"],
)
@pytest.mark.parametrize("path", ["/config/validate", "/jobs/run"])
def test_post_without_the_right_token_is_401(
    make_client: MakeClient, demo_config: dict[str, Any], path: str, headers: dict[str, str]
) -> None:
    client = make_client(token=TOKEN)
    response = client.post(path, json=demo_config, headers=headers)
    assert response.status_code == 401
    assert_envelope(response.json(), "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_is_checked_before_the_body_is_parsed(make_client: MakeClient) -> None:
    client = make_client(token=TOKEN)
    response = client.post("/jobs/run", content=b"{not json")
    assert response.status_code == 401


def test_right_token_is_accepted(make_client: MakeClient, demo_config: dict[str, Any]) -> None:
    client = make_client(token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post("/config/validate", json=demo_config, headers=headers)
    assert response.status_code == 200
    assert response.json()["ok"] is True
    lower = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
    assert client.post("/config/validate", json=demo_config, headers=lower).status_code == 200


def test_health_stays_open_with_a_token(make_client: MakeClient) -> None:
    client = make_client(token=TOKEN)
    assert client.get("/health").status_code == 200


def test_no_token_configured_means_no_auth(
    make_client: MakeClient, demo_config: dict[str, Any]
) -> None:
    client = make_client()
    assert client.post("/config/validate", json=demo_config).status_code == 200
