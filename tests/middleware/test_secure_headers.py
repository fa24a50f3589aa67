"""secure_headers(): Hono's defaults, overrides, CSP nonces, and error pages."""

from __future__ import annotations

import re

import pytest

from microweb import MicroWeb, require_auth, require_role, session
from microweb.middleware import NONCE, csp_nonce, secure_headers
from microweb.testing import TestClient

DEFAULTS = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=15552000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
}


def make(**options: object) -> tuple[MicroWeb, TestClient]:
    app = MicroWeb()
    app.use(secure_headers(**options))  # type: ignore[arg-type]

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        return c.html(f'<script nonce="{csp_nonce(c)}">1</script>')

    @app.get("/own")
    async def own(c):  # type: ignore[no-untyped-def]
        c.header("x-frame-options", "DENY")
        return "mine"

    @app.get("/boom")
    async def boom(c):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    @app.post("/only-post")
    async def only_post(c):  # type: ignore[no-untyped-def]
        return "posted"

    return app, TestClient(app)


def test_default_headers_are_hono_s_set() -> None:
    _, client = make()
    headers = client.get("/").headers
    for name, value in DEFAULTS.items():
        assert headers[name] == value
    assert "content-security-policy" not in headers


def test_an_option_overrides_and_false_omits() -> None:
    _, client = make(x_frame_options="DENY", strict_transport_security=False)
    headers = client.get("/").headers
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers


def test_unknown_option_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="unknown header option"):
        secure_headers(x_frame_option="DENY")


def test_a_header_the_handler_set_is_kept() -> None:
    _, client = make()
    assert client.get("/own").headers.getall("x-frame-options") == ["DENY"]


def test_csp_nonce_is_fresh_per_request_and_matches_the_page() -> None:
    _, client = make(
        content_security_policy={"default-src": ["'self'"], "script-src": ["'self'", NONCE]}
    )
    first, second = client.get("/"), client.get("/")
    policy = first.headers["content-security-policy"]
    [nonce] = re.findall(r"'nonce-([A-Za-z0-9+/=]+)'", policy)
    assert policy == f"default-src 'self'; script-src 'self' 'nonce-{nonce}'"
    assert f'nonce="{nonce}"' in first.text
    assert nonce not in second.headers["content-security-policy"]


def test_csp_nonce_is_empty_without_a_nonce_policy() -> None:
    _, client = make()
    assert 'nonce=""' in client.get("/").text


def test_a_csp_directive_given_as_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="list of sources"):
        secure_headers(content_security_policy={"default-src": "'self'"})


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/missing", 404), ("GET", "/only-post", 405), ("GET", "/boom", 500)],
)
def test_error_pages_carry_the_headers(method: str, path: str, status: int) -> None:
    _, client = make(content_security_policy={"default-src": ["'self'"]})
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'self'"


def test_guard_refusals_carry_the_headers() -> None:
    app, client = make()
    app.use(session())

    @app.get("/private", require_auth())
    async def private(c):  # type: ignore[no-untyped-def]
        return "secret"

    @app.get("/admin", require_role("admin"))
    async def admin(c):  # type: ignore[no-untyped-def]
        return "admin"

    for path, status in (("/private", 401), ("/admin", 401)):
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["x-frame-options"] == "SAMEORIGIN"
