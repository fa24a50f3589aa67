"""`openapi_routes(app)`: the document and the Swagger UI page, served by the app itself,
under its CSP, with nothing loaded from elsewhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from microweb import MicroWeb, csrf, require_auth, session
from microweb.middleware import NONCE, secure_headers
from microweb.openapi import openapi_routes
from microweb.openapi.docs_page import swagger_ui_version
from microweb.testing import TestClient

CSP = {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}


def make_app() -> MicroWeb:
    app = MicroWeb()
    app.use(secure_headers(content_security_policy=CSP))
    app.use(session())
    app.use(csrf())

    @app.post("/notes", require_auth(), responses={201: None})
    async def add_note(c: Any) -> Any:
        return c.json({}, status=201)

    app.route("/", openapi_routes(app, title="Notes", version="1.0"))

    @app.get("/later")
    async def later(c: Any) -> str:
        return "registered after openapi_routes"

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_the_document_is_served_as_json_with_routes_registered_later(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    validate(doc)
    assert set(doc["paths"]) == {"/notes", "/later"}  # the docs' own routes are left out
    assert doc["info"] == {"title": "Notes", "version": "1.0"}


def test_the_page_scripts_carry_the_nonce_of_the_csp_header(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce is not None
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert len(scripts) == 2
    assert all(f'nonce="{nonce[1]}"' in tag for tag in scripts)
    assert "style=" not in response.text


def test_the_page_loads_nothing_from_outside_the_app(client: TestClient) -> None:
    page = client.get("/docs").text
    assert not re.search(r"https?:|=\"//", page)
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(not url.startswith(("http", "/")) for url in urls)
    for url in urls:
        assert client.get("/" + url).status_code == 200, url


def test_the_swagger_ui_files_are_version_5_and_cached(client: TestClient) -> None:
    version = swagger_ui_version()
    assert version is not None
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert re.search(r'PACKAGE_VERSION:"5\.', bundle.text)  # 4.x cannot render OpenAPI 3.1
    etag = bundle.headers["etag"]
    again = client.get("/docs/swagger-ui-bundle.js", headers={"if-none-match": etag})
    assert again.status_code == 304


def test_the_stylesheet_has_no_data_urls_and_its_images_are_served(client: TestClient) -> None:
    css = client.get("/docs/swagger-ui.css").text
    assert "data:" not in css
    images = re.findall(r"url\((image-\d+\.\w+)\)", css)
    assert images
    svg = client.get(f"/docs/{next(i for i in images if i.endswith('.svg'))}")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg")


def test_an_unknown_docs_file_is_404(client: TestClient) -> None:
    assert client.get("/docs/../../etc/passwd").status_code == 404
    assert client.get("/docs/nothing.js").status_code == 404


def test_the_csrf_token_route_gives_the_token_csrf_accepts(client: TestClient) -> None:
    token = client.get("/docs/csrf-token").json()["token"]
    refused = client.post("/notes", headers={"accept": "application/json"})
    assert refused.status_code == 403
    passed = client.post("/notes", headers={"x-csrf-token": token, "accept": "application/json"})
    assert passed.status_code == 401  # past CSRF; require_auth wants a signed-in user


def test_the_csrf_token_route_is_404_without_sessions() -> None:
    app = MicroWeb()
    app.route("/", openapi_routes(app, title="t", version="1"))
    assert TestClient(app).get("/docs/csrf-token").status_code == 404


def test_urls_are_relative_so_a_prefix_works() -> None:
    app = MicroWeb()
    app.route("/admin", openapi_routes(app, title="t", version="1", docs="/api/docs"))
    client = TestClient(app)
    page = client.get("/admin/api/docs").text
    assert '"url": "../openapi.json"' in page
    assert client.get("/admin/openapi.json").status_code == 200
    assert client.get("/admin/api/docs/swagger-ui.css").status_code == 200


def test_paths_must_be_plain() -> None:
    with pytest.raises(ValueError, match="docs"):
        openapi_routes(MicroWeb(), title="t", version="1", docs="/docs/:x")
