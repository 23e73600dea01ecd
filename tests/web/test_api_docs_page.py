"""/api/docs: Swagger UI from the installed package (never a CDN), under a policy that allows
only its own start-up script."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx


def test_docs_load_only_local_assets(server) -> None:
    page = httpx.get(server.base_url + "/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"https?://", page.text), "the docs page names an external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3  # the script, the stylesheet, the icon
    for url in assets:
        r = httpx.get(server.base_url + url)
        assert r.status_code == 200, url
        assert len(r.content) > 100, url
    spec = httpx.get(server.base_url + "/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
    bundle = httpx.get(server.base_url + "/api/docs-assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle


def test_docs_policy_allows_its_inline_script_by_hash_only(server) -> None:
    page = httpx.get(server.base_url + "/api/docs")
    policy = page.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert script_src == f"script-src 'self' 'sha256-{digest}'"
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_the_rest_of_the_app_keeps_the_strict_policy(server) -> None:
    login = httpx.get(server.base_url + "/login")
    policy = login.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "sha256" not in policy and "unsafe-inline" not in policy
