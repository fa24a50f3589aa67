"""TestClient and app.request: cookie jar, redirects, any verb, in-process requests."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.testing import TestClient, call_app


def _cookie_app():
    app = MicroWeb()
    app.get("/login", lambda c: c.set_cookie("sid", "s1", secure=True, http_only=True) or "in")
    app.get("/me", lambda c: {"sid": c.req.cookie("sid")})
    return app


def test_cookie_jar_keeps_cookies_across_requests():
    with TestClient(_cookie_app()) as client:
        client.get("/login")

        assert client.get("/me").json() == {"sid": "s1"}
        assert client.cookies.get("sid") == "s1"


def test_default_base_url_is_https_so_secure_cookies_round_trip():
    with TestClient(_cookie_app()) as client:
        assert client.base_url.startswith("https://")
        client.get("/login")

        assert client.get("/me").json() == {"sid": "s1"}


def test_secure_cookie_is_not_sent_over_http():
    with TestClient(_cookie_app(), base_url="http://testserver") as client:
        client.get("/login")

        assert client.get("/me").json() == {"sid": None}


def test_cookie_is_sent_only_under_its_path(app, client):
    app.get("/account/login", lambda c: c.set_cookie("acct", "1", path="/account") or "ok")
    app.get("/account/me", lambda c: {"acct": c.req.cookie("acct")})
    app.get("/other", lambda c: {"acct": c.req.cookie("acct")})

    client.get("/account/login")

    assert client.get("/account/me").json() == {"acct": "1"}
    assert client.get("/other").json() == {"acct": None}


def test_explicit_cookie_header_is_sent_as_given(app, client):
    app.get("/set", lambda c: c.set_cookie("jar", "1") or "ok")
    app.get("/read", lambda c: c.req.cookie())

    client.get("/set")

    assert client.get("/read", headers={"Cookie": "mine=2"}).json() == {"mine": "2"}


def test_response_cookies_lists_what_the_response_set(app, client):
    app.get("/", lambda c: c.set_cookie("a", "x y") or "ok")

    assert client.get("/").cookies == {"a": "x y"}


def test_redirect_is_not_followed_by_default(app, client):
    app.get("/old", lambda c: c.redirect("/new"))
    app.get("/new", lambda c: "new page")

    response = client.get("/old")

    assert response.status_code == 302
    assert response.headers["location"] == "/new"


def test_follow_redirects_returns_the_final_response(app, client):
    app.get("/a", lambda c: c.redirect("/b", 301))
    app.get("/b", lambda c: c.redirect("/c", 307))
    app.get("/c", lambda c: f"landed on {c.req.path}")

    response = client.get("/a", follow_redirects=True)

    assert response.status_code == 200
    assert response.text == "landed on /c"


def test_follow_redirects_after_post_303_switches_to_get(app, client):
    app.post("/submit", lambda c: c.redirect("/done", 303))
    app.get("/done", lambda c: f"{c.req.method} done")

    response = client.post("/submit", form={"a": "1"}, follow_redirects=True)

    assert response.text == "GET done"


def test_follow_redirects_carries_cookies_set_by_the_redirect(app, client):
    @app.post("/login")
    async def login(c):
        c.set_cookie("sid", "abc", secure=True)
        return c.redirect("/home", 303)

    app.get("/home", lambda c: f"hello {c.req.cookie('sid')}")

    assert client.post("/login", follow_redirects=True).text == "hello abc"


def test_request_sends_any_verb(app, client):
    app.on("PURGE", "/cache/:key", lambda c: f"{c.req.method} {c.req.param('key')}")

    response = client.request("PURGE", "/cache/home")

    assert (response.status_code, response.text) == (200, "PURGE home")


def test_client_sends_json_form_and_content_with_content_types(app, client):
    @app.post("/")
    async def handler(c):
        return {"type": c.req.content_type, "body": (await c.req.body()).decode()}

    assert client.post("/", json={"a": 1}).json() == {
        "type": "application/json",
        "body": '{"a": 1}',
    }
    assert client.post("/", form={"a": "1"}).json() == {
        "type": "application/x-www-form-urlencoded",
        "body": "a=1",
    }
    assert client.post("/", content="raw").json() == {"type": "", "body": "raw"}


def test_response_exposes_status_headers_text_and_json(app, client):
    app.get("/", lambda c: c.json({"ok": True}, 201, {"x-h": "v"}))

    response = client.get("/")

    assert response.status_code == 201
    assert response.headers["X-H"] == "v"
    assert response.text == '{"ok":true}'
    assert response.json() == {"ok": True}


def test_app_request_returns_status_headers_text_and_json():
    app = MicroWeb()
    app.get("/hello/:name", lambda c: c.json({"hi": c.req.param("name")}, headers={"x-h": "1"}))

    response = asyncio.run(app.request("/hello/ann"))

    assert response.status_code == 200
    assert response.headers["x-h"] == "1"
    assert response.text == '{"hi":"ann"}'
    assert response.json() == {"hi": "ann"}


def test_app_request_sends_method_headers_and_json():
    app = MicroWeb()

    @app.put("/items/:id")
    async def update(c):
        return {"auth": c.req.header("authorization"), "body": await c.req.json()}

    response = asyncio.run(
        app.request("/items/1", method="PUT", headers={"Authorization": "Bearer t"}, json={"n": 2})
    )

    assert response.json() == {"auth": "Bearer t", "body": {"n": 2}}


def test_app_request_sends_form_and_content():
    app = MicroWeb()

    @app.post("/form")
    async def form(c):
        return dict(await c.req.form())

    @app.post("/raw")
    async def raw(c):
        return await c.req.text()

    async def both():
        return (
            await app.request("/form", method="POST", form={"a": "1"}),
            await app.request("/raw", method="POST", content="plain body"),
        )

    form_response, raw_response = asyncio.run(both())

    assert form_response.json() == {"a": "1"}
    assert raw_response.text == "plain body"


def test_app_request_answers_404_and_query_strings():
    app = MicroWeb()
    app.get("/search", lambda c: c.req.query("q"))

    async def both():
        return await app.request("/search?q=cats"), await app.request("/nowhere")

    found, missing = asyncio.run(both())

    assert found.text == "cats"
    assert missing.status_code == 404


def test_app_request_accepts_a_full_url():
    app = MicroWeb()
    app.get("/", lambda c: c.req.url)

    response = asyncio.run(app.request("https://example.com/?x=1"))

    assert response.text == "https://example.com/?x=1"


def _upload_app():
    app = MicroWeb()

    @app.post("/")
    async def upload(c):
        return {"length": c.req.header("content-length"), "body": await c.req.text()}

    return app


def test_call_app_sends_chunks_as_a_stream_without_content_length():
    response = asyncio.run(call_app(_upload_app(), "POST", "http://t/", chunks=[b"ab", b"c"]))

    assert response.json() == {"length": None, "body": "abc"}


def test_call_app_refuses_chunks_and_a_body_together():
    with pytest.raises(TypeError, match="chunks"):
        asyncio.run(call_app(_upload_app(), "POST", "http://t/", content="x", chunks=[b"y"]))


def test_call_app_sends_query_string_bytes_as_they_are():
    app = MicroWeb()
    app.get("/", lambda c: c.req.url)

    response = asyncio.run(call_app(app, "GET", "http://t/?ignored=1", query_string=b"q=%41"))

    assert response.text == "http://t/?q=%41"


@pytest.mark.parametrize(
    ("path", "scheme", "server"),
    [
        ("/", "http", ["localhost", 80]),
        ("https://example.org/x", "https", ["example.org", 443]),
        ("http://example.org:8080/x", "http", ["example.org", 8080]),
    ],
)
def test_app_request_builds_the_server_of_its_url(path, scheme, server):
    app = MicroWeb()
    app.all(
        "/*", lambda c: {"scheme": c.req.scope["scheme"], "server": list(c.req.scope["server"])}
    )
    answer = asyncio.run(app.request(path)).json()
    assert answer == {"scheme": scheme, "server": server}


def test_params_are_percent_encoded_onto_the_query_string():
    app = MicroWeb()

    @app.get("/search")
    async def search(c):
        return {"q": c.req.query("q"), "tags": c.req.queries("tag"), "raw": c.req.url}

    with TestClient(app) as client:
        alone = client.get("/search", params={"q": "a b&c=\x00é", "tag": ["x", "y"]}).json()
        added = client.get("/search?tag=w", params={"tag": "z"}).json()

    assert alone["q"] == "a b&c=\x00é" and alone["tags"] == ["x", "y"]
    assert alone["raw"].endswith("/search?q=a+b%26c%3D%00%C3%A9&tag=x&tag=y")
    assert added["tags"] == ["w", "z"]
