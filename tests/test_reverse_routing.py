"""Route names and `app.url_for`: reverse routing from Hono paths, in code and templates."""

from __future__ import annotations

import pytest

from microweb import MicroWeb
from microweb.templates import jinja
from microweb.testing import TestClient


def test_url_for_fills_a_param_of_a_route_named_after_its_handler() -> None:
    app = MicroWeb()

    @app.get("/users/:id")
    async def user(c):
        return "user"

    assert app.url_for("user", id=42) == "/users/42"


def test_url_for_uses_the_name_given_at_registration() -> None:
    app = MicroWeb()
    app.get("/posts/:slug", lambda c: "post", name="post")

    assert app.url_for("post", slug="hello") == "/posts/hello"


def test_url_for_percent_encodes_params_so_they_route_back_to_the_same_value() -> None:
    app = MicroWeb()

    @app.get("/files/:name")
    async def file(c):
        return c.req.param("name")

    url = app.url_for("file", name="a b/€?#")
    assert url == "/files/a%20b%2F%E2%82%AC%3F%23"
    with TestClient(app) as client:
        assert client.get(url).text == "a b/€?#"


def test_url_for_adds_the_query() -> None:
    app = MicroWeb()
    app.get("/search", lambda c: "results", name="search")

    assert app.url_for("search", query={"q": "a&b", "tag": ["x", "y"]}) == (
        "/search?q=a%26b&tag=x&tag=y"
    )


def test_url_for_names_a_missing_param() -> None:
    app = MicroWeb()
    app.get("/users/:id", lambda c: "user", name="user")

    with pytest.raises(KeyError, match="'id'"):
        app.url_for("user")


def test_url_for_refuses_a_param_the_route_does_not_have() -> None:
    app = MicroWeb()
    app.get("/users/:id", lambda c: "user", name="user")

    with pytest.raises(TypeError, match="'idd'"):
        app.url_for("user", id=1, idd=2)


def test_url_for_checks_a_param_against_its_pattern() -> None:
    app = MicroWeb()
    app.get("/post/:date{[0-9]+}", lambda c: "post", name="post")

    assert app.url_for("post", date=20261206) == "/post/20261206"
    with pytest.raises(ValueError, match="pattern"):
        app.url_for("post", date="yesterday")


def test_url_for_leaves_out_an_optional_param_that_is_not_given() -> None:
    app = MicroWeb()
    app.get("/animals/:type?", lambda c: "animals", name="animals")

    assert app.url_for("animals") == "/animals"
    assert app.url_for("animals", type="cat") == "/animals/cat"


def test_url_for_fills_a_tail_wildcard() -> None:
    app = MicroWeb()
    app.get("/static/*", lambda c: "file", name="static")

    assert app.url_for("static") == "/static"
    assert app.url_for("static", wildcard="css/site 1.css") == "/static/css/site%201.css"


def test_url_for_an_unknown_name_is_a_lookup_error() -> None:
    app = MicroWeb()

    with pytest.raises(LookupError, match="'nope'"):
        app.url_for("nope")


def test_url_for_a_name_on_two_paths_asks_for_distinct_names() -> None:
    app = MicroWeb()
    app.get("/a", lambda c: "a", name="page")
    app.get("/b", lambda c: "b", name="page")

    with pytest.raises(LookupError, match="distinct name"):
        app.url_for("page")


def test_url_for_knows_routes_of_sub_apps_and_base_paths() -> None:
    api = MicroWeb()
    api.get("/users/:id", lambda c: "user", name="api_user")
    v2 = MicroWeb().base_path("/v2")
    v2.get("/ping", lambda c: "pong", name="ping")
    app = MicroWeb()
    app.route("/api", api)
    app.route("/", v2)

    assert app.url_for("api_user", id=7) == "/api/users/7"
    assert app.url_for("ping") == "/v2/ping"


def test_templates_see_url_for(tmp_path) -> None:
    (tmp_path / "page.html").write_text('<a href="{{ url_for("user", id=5) }}">me</a>')
    app = MicroWeb()
    app.use(jinja(tmp_path))

    @app.get("/users/:id")
    async def user(c):
        return "user"

    app.get("/", lambda c: c.render("page.html"))

    with TestClient(app) as client:
        assert client.get("/").text == '<a href="/users/5">me</a>'
