"""Routing as a user sees it: methods, decorators, path syntax, params, order, sub-apps."""

from __future__ import annotations

import pytest

from microweb import MicroWeb, Middleware, create_middleware
from microweb.limits import Limits
from microweb.testing import TestClient

# -- methods -------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["get", "post", "put", "patch", "delete", "options"])
def test_method_helper_serves_its_own_verb(app, client, verb):
    getattr(app, verb)("/thing", lambda c: f"{c.req.method} answered")

    response = client.request(verb.upper(), "/thing")

    assert response.status_code == 200
    assert response.text == f"{verb.upper()} answered"


@pytest.mark.parametrize("verb", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"])
def test_all_serves_every_verb(app, client, verb):
    app.all("/any", lambda c: c.req.method)

    assert client.request(verb, "/any").text == verb


def test_on_registers_a_custom_verb(app, client):
    app.on("PURGE", "/cache", lambda c: "purged")

    assert client.request("PURGE", "/cache").text == "purged"
    assert client.get("/cache").status_code == 405


def test_on_method_name_is_case_insensitive(app, client):
    app.on("purge", "/cache", lambda c: "purged")

    response = client.request("PURGE", "/cache")

    assert response.status_code == 200
    assert response.text == "purged"


def test_on_accepts_a_list_of_methods(app, client):
    app.on(["PUT", "DELETE"], "/item", lambda c: c.req.method)

    assert client.put("/item").text == "PUT"
    assert client.delete("/item").text == "DELETE"
    assert client.get("/item").status_code == 405


def test_on_accepts_a_list_of_paths(app, client):
    app.on("GET", ["/one", "/two"], lambda c: c.req.path)

    assert client.get("/one").text == "/one"
    assert client.get("/two").text == "/two"


def test_on_accepts_lists_of_methods_and_paths_together(app, client):
    app.on(["GET", "POST"], ["/a", "/b"], lambda c: f"{c.req.method} {c.req.path}")

    assert client.post("/b").text == "POST /b"
    assert client.get("/a").text == "GET /a"


# -- decorator forms and chaining ------------------------------------------------


def test_decorator_without_handlers_registers_the_function(app, client):
    @app.get("/users/:id")
    async def show(c):
        return f"user {c.req.param('id')}"

    assert client.get("/users/7").text == "user 7"


def test_decorator_returns_the_function_unchanged(app):
    async def show(c):
        return "x"

    assert app.get("/x")(show) is show


def test_decorator_with_marked_middleware_runs_it_before_the_handler(app, client):
    calls = []

    @create_middleware
    async def guard(c, next):
        calls.append("guard")
        c.set("who", "guarded")
        await next()

    @app.get("/admin", guard)
    async def admin(c):
        calls.append("handler")
        return c.get("who")

    response = client.get("/admin")

    assert response.text == "guarded"
    assert calls == ["guard", "handler"]


def test_decorator_with_middleware_subclass_instance_runs_it_before_the_handler(app, client):
    class Stamp(Middleware):
        async def __call__(self, c, next):
            await next()
            c.res.headers["x-stamp"] = "yes"

    @app.get("/stamped", Stamp())
    async def stamped(c):
        return "body"

    response = client.get("/stamped")

    assert response.text == "body"
    assert response.headers["x-stamp"] == "yes"


def test_route_with_middleware_only_registers_it_at_once(app, client):
    # Hono's semantics: app.post("/login", rate_limit(...)) limits POST /login even though
    # the decorator it returns is never applied.
    seen = []

    @create_middleware
    async def guard(c, next):
        seen.append(c.req.method)
        return c.text("refused", 403)

    app.post("/login", guard)
    app.post("/login", lambda c: "logged in")

    response = client.post("/login")

    assert response.status_code == 403
    assert seen == ["POST"]


def test_decorator_after_middleware_only_registration_adds_the_handler_after_it(app, client):
    calls = []

    @create_middleware
    async def first(c, next):
        calls.append("mw")
        await next()

    decorate = app.get("/page", first)

    @decorate
    async def page(c):
        calls.append("handler")
        return "page"

    assert client.get("/page").text == "page"
    assert calls == ["mw", "handler"]


def test_rate_limit_given_to_a_route_without_a_handler_limits_it(app, client):
    from microweb.middleware import rate_limit

    app.post("/login", rate_limit("2/minute"))

    @app.post("/login")
    async def login(c):
        return "ok"

    statuses = [client.post("/login").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_route_middleware_alone_does_not_count_as_a_handler_for_405(app, client):
    @create_middleware
    async def noop(c, next):
        await next()

    app.post("/only-middleware", noop)
    app.get("/page", lambda c: "page")

    assert client.post("/only-middleware").status_code == 404
    assert client.delete("/page").status_code == 405


def test_route_records_its_name_responses_and_middleware(app):
    @create_middleware
    async def guard(c, next):
        await next()

    @app.post("/notes", guard, name="create_note", responses={201: dict, 404: None})
    async def create(c):
        return "made"

    route = next(r for r in app.routes if r.is_handler)
    assert (route.name, route.path, route.method) == ("create_note", "/notes", "POST")
    assert route.responses == {201: dict, 404: None}
    assert route.middleware == (guard,)


@pytest.mark.parametrize("status", [99, 600, "200", 2.5])
def test_responses_keys_must_be_status_codes(app, status):
    with pytest.raises(ValueError, match="status codes"):
        app.get("/x", lambda c: "x", responses={status: None})


def test_route_middleware_short_circuit_keeps_the_handler_from_running(app, client):
    ran = []

    @create_middleware
    async def deny(c, next):
        return c.text("denied", 403)

    @app.get("/secret", deny)
    async def secret(c):
        ran.append(True)
        return "secret"

    response = client.get("/secret")

    assert response.status_code == 403
    assert response.text == "denied"
    assert ran == []


def test_registration_with_a_handler_returns_the_app_for_chaining(app, client):
    result = app.get("/a", lambda c: "a").post("/b", lambda c: "b").on("PURGE", "/c", lambda c: "c")

    assert result is app
    assert client.get("/a").text == "a"
    assert client.post("/b").text == "b"
    assert client.request("PURGE", "/c").text == "c"


def test_use_returns_the_app_for_chaining(app):
    async def mw(c, next):
        await next()

    assert app.use(mw) is app


def test_sync_middleware_taking_next_is_rejected_at_registration(app):
    def mw(c, next):
        return None

    with pytest.raises(TypeError):
        app.use(mw)


def test_handler_with_too_many_arguments_is_rejected_at_registration(app):
    async def handler(c, next, extra):
        return "x"

    with pytest.raises(TypeError):
        app.get("/x", handler)


# -- HEAD and 405 --------------------------------------------------------------


def test_head_is_served_by_get_route_without_body(app, client):
    app.get("/page", lambda c: c.text("hello there", headers={"x-extra": "1"}))

    get = client.get("/page")
    head = client.head("/page")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "11"
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["x-extra"] == "1"


def test_head_runs_the_get_handler(app, client):
    seen = []

    @app.get("/page")
    async def page(c):
        seen.append(c.req.method)
        return "x"

    client.head("/page")

    assert seen == ["HEAD"]


def test_other_method_on_a_known_path_answers_405_with_allow(app, client):
    app.get("/item", lambda c: "get")
    app.post("/item", lambda c: "post")

    response = client.delete("/item")

    assert response.status_code == 405
    allowed = [m.strip() for m in response.headers["allow"].split(",")]
    assert set(allowed) == {"GET", "HEAD", "POST"}


def test_405_allow_lists_only_methods_whose_routes_match_the_path(app, client):
    app.post("/item", lambda c: "post")
    app.put("/other", lambda c: "put")

    response = client.get("/item")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_middleware_alone_does_not_make_a_path_answer_405(app, client):
    async def mw(c, next):
        await next()

    app.use("/only-mw/*", mw)
    app.post("/elsewhere", lambda c: "post")

    response = client.get("/only-mw/x")

    assert response.status_code == 404


def test_middleware_running_around_a_method_mismatch_still_gives_405(app, client):
    async def mw(c, next):
        await next()
        c.res.headers["x-mw"] = "ran"

    app.use(mw)
    app.post("/form", lambda c: "posted")

    response = client.get("/form")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["x-mw"] == "ran"


def test_unknown_path_answers_404(app, client):
    app.get("/", lambda c: "home")

    response = client.get("/nowhere")

    assert response.status_code == 404


# -- strict ----------------------------------------------------------------------


def test_strict_by_default_trailing_slash_is_a_different_path(app, client):
    app.get("/a", lambda c: "a")

    assert client.get("/a").status_code == 200
    assert client.get("/a/").status_code == 404


def test_strict_false_treats_trailing_slash_as_the_same_path():
    app = MicroWeb(strict=False)
    app.get("/a", lambda c: "a")

    with TestClient(app) as client:
        assert client.get("/a/").text == "a"
        assert client.get("/a").text == "a"


def test_strict_false_still_serves_the_root():
    app = MicroWeb(strict=False)
    app.get("/", lambda c: "root")

    with TestClient(app) as client:
        assert client.get("/").text == "root"


# -- path syntax -----------------------------------------------------------------


def test_named_param_is_bound(app, client):
    app.get("/users/:id", lambda c: c.req.param("id"))

    assert client.get("/users/123").text == "123"


def test_several_params_are_returned_together(app, client):
    app.get("/users/:user/posts/:post", lambda c: c.req.param())

    assert client.get("/users/ann/posts/9").json() == {"user": "ann", "post": "9"}


def test_optional_param_matches_with_and_without_it(app, client):
    app.get("/animals/:type?", lambda c: c.req.param("type") or "all")

    assert client.get("/animals/dog").text == "dog"
    assert client.get("/animals").text == "all"


def test_absent_optional_param_is_none_and_missing_from_the_dict(app, client):
    @app.get("/animals/:type?")
    async def animals(c):
        return {"one": c.req.param("type"), "all": c.req.param()}

    assert client.get("/animals").json() == {"one": None, "all": {}}


def test_regex_params_match_only_their_pattern(app, client):
    app.get("/post/:date{[0-9]+}/:title{[a-z]+}", lambda c: c.req.param())

    assert client.get("/post/20240101/hello").json() == {"date": "20240101", "title": "hello"}
    assert client.get("/post/today/hello").status_code == 404
    assert client.get("/post/20240101/Hello").status_code == 404


def test_regex_param_with_an_extension(app, client):
    app.get("/files/:name{.+\\.png}", lambda c: c.req.param("name"))

    assert client.get("/files/cat.png").text == "cat.png"
    assert client.get("/files/cat.jpg").status_code == 404


def test_tail_wildcard_matches_deeper_paths(app, client):
    app.get("/static/*", lambda c: "static")

    assert client.get("/static/css/site.css").text == "static"


def test_tail_wildcard_also_matches_the_bare_prefix(app, client):
    app.get("/static/*", lambda c: "static")

    assert client.get("/static").text == "static"


def test_tail_wildcard_does_not_match_a_longer_sibling(app, client):
    app.get("/static/*", lambda c: "static")

    assert client.get("/statics").status_code == 404


def test_mid_wildcard_matches_a_segment_in_between(app, client):
    app.get("/wild/*/card", lambda c: "card")

    assert client.get("/wild/anything/card").text == "card"
    assert client.get("/wild/anything/other").status_code == 404


def test_params_are_percent_decoded(app, client):
    app.get("/tags/:tag", lambda c: c.req.param("tag"))

    assert client.get("/tags/%E2%9C%93").text == "\u2713"
    assert client.get("/tags/a%20b").text == "a b"


def test_encoded_slash_stays_inside_one_param(app, client):
    app.get("/files/:name", lambda c: c.req.param("name"))
    app.get("/files/:dir/:name", lambda c: "two segments")

    response = client.get("/files/a%2Fb")

    assert response.text == "a/b"


def test_static_path_with_encoded_characters_matches_the_decoded_route(app, client):
    app.get("/caf\u00e9", lambda c: "coffee")

    assert client.get("/caf%C3%A9").text == "coffee"


# -- order -------------------------------------------------------------------------


def test_every_matching_handler_runs_in_registration_order(app, client):
    order = []

    async def first(c, next):
        order.append("first")
        await next()

    async def second(c, next):
        order.append("second")
        await next()

    async def last(c):
        order.append("last")
        return "done"

    app.get("/x", first)
    app.get("/:any", second)
    app.get("/x", last)

    response = client.get("/x")

    assert response.text == "done"
    assert order == ["first", "second", "last"]


def test_several_handlers_in_one_registration_run_in_order(app, client):
    order = []

    async def one(c, next):
        order.append(1)
        await next()

    async def two(c, next):
        order.append(2)
        await next()

    app.get("/x", one, two, lambda c: "end")

    assert client.get("/x").text == "end"
    assert order == [1, 2]


def test_handler_without_next_ends_the_chain(app, client):
    later = []

    async def later_handler(c):
        later.append(True)
        return "later"

    app.get("/x", lambda c: "first")
    app.get("/x", later_handler)

    assert client.get("/x").text == "first"
    assert later == []


def test_chain_running_out_ends_in_the_not_found_handler(app, client):
    async def pass_through(c, next):
        await next()

    app.get("/x", pass_through)

    response = client.get("/x")

    assert response.status_code == 404


def test_chain_running_out_uses_the_custom_not_found_handler(app, client):
    async def pass_through(c, next):
        await next()

    app.get("/x", pass_through)

    @app.not_found
    async def missing(c):
        return c.text(f"no page at {c.req.path}", 404)

    response = client.get("/x")

    assert response.status_code == 404
    assert response.text == "no page at /x"


def test_custom_not_found_handler_answers_unknown_paths(app, client):
    app.not_found(lambda c: c.json({"missing": c.req.path}, 404))

    response = client.get("/ghost")

    assert response.status_code == 404
    assert response.json() == {"missing": "/ghost"}


def test_param_is_the_one_bound_by_the_current_handlers_route(app, client):
    async def outer(c, next):
        c.set("outer", c.req.param())
        await next()

    app.get("/items/*", outer)
    app.get("/items/:id", lambda c: {"outer": c.get("outer"), "inner": c.req.param()})

    assert client.get("/items/5").json() == {"outer": {}, "inner": {"id": "5"}}


# -- sub-apps and base path ---------------------------------------------------------


def test_route_mounts_a_sub_app_under_a_prefix(app, client):
    users = MicroWeb()
    users.get("/", lambda c: "list")
    users.get("/:id", lambda c: f"user {c.req.param('id')}")
    app.route("/users", users)

    assert client.get("/users").text == "list"
    assert client.get("/users/3").text == "user 3"
    assert client.get("/3").status_code == 404


def test_route_keeps_the_sub_apps_middleware_scoped_to_its_prefix(app, client):
    api = MicroWeb()

    async def tag(c, next):
        await next()
        c.res.headers["x-api"] = "1"

    api.use(tag)
    api.get("/ping", lambda c: "pong")
    app.route("/api", api)
    app.get("/home", lambda c: "home")

    assert client.get("/api/ping").headers.get("x-api") == "1"
    assert client.get("/home").headers.get("x-api") is None


def test_sub_app_errors_go_to_the_sub_apps_own_on_error(app, client):
    api = MicroWeb()

    @api.on_error
    async def api_error(err, c):
        return c.json({"api_error": str(err)}, 500)

    @api.get("/boom")
    async def api_boom(c):
        raise RuntimeError("sub failed")

    @app.on_error
    async def main_error(err, c):
        return c.text("main handler", 500)

    @app.get("/boom")
    async def main_boom(c):
        raise RuntimeError("main failed")

    app.route("/api", api)

    assert client.get("/api/boom").json() == {"api_error": "sub failed"}
    assert client.get("/boom").text == "main handler"


def test_base_path_prefixes_the_routes_of_the_returned_app(app):
    v1 = app.base_path("/v1")
    v1.get("/status", lambda c: "ok")

    with TestClient(v1) as v1_client:
        assert v1_client.get("/v1/status").text == "ok"
        assert v1_client.get("/status").status_code == 404


def test_base_path_app_has_its_own_error_and_not_found_handlers(app, client):
    app.on_error(lambda err, c: c.text("app error", 500))
    app.not_found(lambda c: c.text("app 404", 404))
    v1 = app.base_path("/v1")
    v1.on_error(lambda err, c: c.text("v1 error", 500))
    v1.not_found(lambda c: c.text("v1 404", 404))
    v1.get("/boom", lambda c: 1 / 0)

    assert client.get("/v1/boom").text == "app error"
    assert client.get("/ghost").text == "app 404"
    with TestClient(v1) as v1_client:
        assert v1_client.get("/v1/boom").text == "v1 error"
        assert v1_client.get("/ghost").text == "v1 404"


def test_base_path_app_routes_count_for_the_405_of_the_original(app, client):
    v1 = app.base_path("/v1")
    v1.post("/items", lambda c: "created")

    response = client.get("/v1/items")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_base_path_app_can_be_routed_into_another_app(app, client):
    api = MicroWeb().base_path("/v2")
    api.get("/items", lambda c: "items")
    app.route("/api", api)

    assert client.get("/api/v2/items").text == "items"


# -- sync handlers -----------------------------------------------------------------


def test_plain_def_handler_is_accepted(app, client):
    def hello(c):
        return c.text(f"sync {c.req.param('name')}")

    app.get("/hello/:name", hello)

    assert client.get("/hello/ann").text == "sync ann"


def test_plain_def_handler_after_middleware(app, client):
    async def mw(c, next):
        c.set("from", "mw")
        await next()

    app.use(mw)
    app.get("/x", lambda c: {"from": c.get("from")})

    assert client.get("/x").json() == {"from": "mw"}


def test_strict_false_matches_params_with_a_trailing_slash():
    app = MicroWeb(strict=False)
    app.get("/users/:id", lambda c: c.req.param("id"))

    with TestClient(app) as client:
        assert client.get("/users/5/").text == "5"


def test_head_keeps_headers_added_by_middleware(app, client):
    async def tag(c, next):
        await next()
        c.res.headers["x-mw"] = "1"

    app.use(tag)
    app.get("/", lambda c: "body")

    response = client.head("/")

    assert response.content == b""
    assert response.headers["x-mw"] == "1"
    assert response.headers["content-length"] == "4"


def test_the_apps_routing_settings_are_read_only_and_what_it_was_built_with():
    limits = Limits(max_body_size=10)
    app = MicroWeb(strict=False, limits=limits)
    assert app.strict is False
    assert app.limits is limits
    for name in ("strict", "limits", "router", "answers"):
        with pytest.raises(AttributeError):
            setattr(app, name, getattr(app, name))


def test_routes_added_before_the_first_request_are_all_matched_after_it():
    app = MicroWeb()

    @app.get("/a")
    async def a(c):
        return c.text("a")

    client = TestClient(app)
    assert client.get("/a").text == "a"
    assert client.get("/b").status_code == 404
    # The router is built on the first request; adding a route afterwards is an error,
    # never a route that silently does not match.
    with pytest.raises(RuntimeError):

        @app.get("/b")
        async def b(c):
            return c.text("b")

    assert client.get("/a").text == "a"
