"""The API documentation works offline: /docs and /redoc load every script, style sheet and
icon from the worker itself (no CDN), and the OpenAPI document describes the config."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_the_worker(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assets = [a or b for a, b in ASSET.findall(html.text)]
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content, asset
    assert "cdn." not in html.text


def test_swagger_ui_is_a_version_that_reads_openapi_3_1(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    bundle = client.get("/static-offline-docs/swagger-ui-bundle.js").text
    assert "isOAS31" in bundle  # Swagger UI 5 (4.x showed a blank page for 3.1 documents)
