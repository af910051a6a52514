"""`/docs` and `/redoc` load everything from the API itself (issue #24: Swagger from a CDN
was blank on an offline LAN); the browser check is in tests/web/test_e2e.py."""

from __future__ import annotations

import re

from tests.api.helpers import Api


def _sources(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)""", html) + re.findall(
        r"""url:\s*["']([^"']+)""", html
    )


def test_the_docs_pages_name_no_other_origin(api: Api) -> None:
    for path in ("/docs", "/redoc"):
        response = api.get(path, user=None)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        sources = _sources(response.text)
        assert sources, path
        assert [s for s in sources if "//" in s] == [], path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "http" not in policy
    docs = api.get("/docs", user=None).text
    assert "/docs-assets/swagger-ui-bundle.js" in docs
    assert "/docs-assets/swagger-ui.css" in docs
    assert "/openapi.json" in docs


def test_the_assets_are_served_from_the_package(api: Api) -> None:
    for asset, kind in (
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "javascript"),
    ):
        response = api.get(f"/docs-assets/{asset}", user=None)
        assert response.status_code == 200, asset
        assert kind in response.headers["content-type"], asset
        assert len(response.content) > 100_000, asset  # the real bundle, not a stub
    assert api.get("/docs-assets/nothing.js", user=None).status_code == 404
    assert api.get("/docs/oauth2-redirect", user=None).status_code == 200
