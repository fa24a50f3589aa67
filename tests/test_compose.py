"""compose: the middleware onion, c.res on the way out, short circuits, scoping, errors."""

from __future__ import annotations

import contextlib
import logging

from microweb import HTTPException, Middleware, create_middleware


def test_code_before_and_after_next_runs_as_an_onion(app, client):
    order = []

    async def outer(c, next):
        order.append("outer in")
        await next()
        order.append("outer out")

    async def inner(c, next):
        order.append("inner in")
        await next()
        order.append("inner out")

    app.use(outer)
    app.use(inner)

    @app.get("/")
    async def handler(c):
        order.append("handler")
        return "ok"

    assert client.get("/").text == "ok"
    assert order == ["outer in", "inner in", "handler", "inner out", "outer out"]


def test_middleware_registered_first_wraps_routes_registered_later(app, client):
    order = []

    async def mw(c, next):
        order.append("mw")
        await next()

    app.use(mw)
    app.get("/", lambda c: order.append("handler") or "ok")

    client.get("/")

    assert order == ["mw", "handler"]


def test_c_res_is_readable_after_next(app, client):
    seen = {}

    async def observe(c, next):
        await next()
        seen["status"] = c.res.status
        seen["body"] = c.res.body

    app.use(observe)
    app.get("/", lambda c: c.text("created", 201))

    client.get("/")

    assert seen == {"status": 201, "body": b"created"}


def test_c_res_can_be_replaced_after_next(app, client):
    async def replace(c, next):
        await next()
        c.res = c.text(f"wrapped: {c.res.text}", 202)

    app.use(replace)
    app.get("/", lambda c: "inner")

    response = client.get("/")

    assert response.status_code == 202
    assert response.text == "wrapped: inner"


def test_header_added_after_next_reaches_the_client(app, client):
    async def powered_by(c, next):
        await next()
        c.res.headers["x-powered-by"] = "microweb"

    app.use(powered_by)
    app.get("/", lambda c: "ok")

    assert client.get("/").headers["x-powered-by"] == "microweb"


def test_middleware_returning_a_response_without_next_short_circuits(app, client):
    reached = []

    async def block(c, next):
        return c.text("blocked", 403)

    async def handler(c):
        reached.append(True)
        return "handler"

    app.use(block)
    app.get("/", handler)

    response = client.get("/")

    assert response.status_code == 403
    assert response.text == "blocked"
    assert reached == []


def test_short_circuit_in_inner_middleware_is_seen_by_the_outer_one(app, client):
    async def outer(c, next):
        await next()
        c.res.headers["x-outer"] = "saw " + c.res.text

    async def cache_hit(c, next):
        return "cached"

    app.use(outer, cache_hit)
    app.get("/", lambda c: "fresh")

    response = client.get("/")

    assert response.text == "cached"
    assert response.headers["x-outer"] == "saw cached"


def test_calling_next_twice_answers_500_and_logs_it(app, client, caplog):
    async def twice(c, next):
        await next()
        await next()

    app.use(twice)
    app.get("/", lambda c: "ok")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert response.status_code == 500
    assert "next() called multiple times" in caplog.text


def test_calling_next_twice_runs_the_handler_once(app, client):
    runs = []

    async def twice(c, next):
        await next()
        with contextlib.suppress(RuntimeError):
            await next()

    async def handler(c):
        runs.append(True)
        return "ok"

    app.use(twice)
    app.get("/", handler)

    assert client.get("/").text == "ok"
    assert runs == [True]


def test_use_with_a_path_applies_only_under_that_path(app, client):
    async def tag(c, next):
        await next()
        c.res.headers["x-admin"] = "1"

    app.use("/admin/*", tag)
    app.get("/admin/users", lambda c: "users")
    app.get("/admin", lambda c: "admin home")
    app.get("/public", lambda c: "public")

    assert client.get("/admin/users").headers.get("x-admin") == "1"
    assert client.get("/admin").headers.get("x-admin") == "1"
    assert client.get("/public").headers.get("x-admin") is None


def test_use_with_an_exact_path_applies_only_to_that_path(app, client):
    async def tag(c, next):
        await next()
        c.res.headers["x-tag"] = "1"

    app.use("/exact", tag)
    app.get("/exact", lambda c: "exact")
    app.get("/exact/more", lambda c: "more")

    assert client.get("/exact").headers.get("x-tag") == "1"
    assert client.get("/exact/more").headers.get("x-tag") is None


def test_use_accepts_several_middleware_in_order(app, client):
    order = []

    async def a(c, next):
        order.append("a")
        await next()

    async def b(c, next):
        order.append("b")
        await next()

    app.use("/x", a, b)
    app.get("/x", lambda c: "x")

    client.get("/x")

    assert order == ["a", "b"]


def test_middleware_runs_for_unknown_paths_and_sees_the_404(app, client):
    seen = []

    async def observe(c, next):
        await next()
        seen.append(c.res.status)

    app.use(observe)

    assert client.get("/missing").status_code == 404
    assert seen == [404]


def test_middleware_sees_the_error_response_of_an_inner_handler(app, client):
    seen = []

    async def observe(c, next):
        await next()
        seen.append(c.res.status)
        c.res.headers["x-observed"] = "yes"

    app.use(observe)

    @app.get("/")
    async def boom(c):
        raise RuntimeError("handler failed")

    response = client.get("/")

    assert response.status_code == 500
    assert response.headers["x-observed"] == "yes"
    assert seen == [500]


def test_middleware_sees_the_http_exception_status_of_an_inner_handler(app, client):
    seen = []

    async def observe(c, next):
        await next()
        seen.append((c.res.status, c.res.text))

    app.use(observe)

    @app.get("/")
    async def teapot(c):
        raise HTTPException(418, "short and stout")

    assert client.get("/").status_code == 418
    assert seen == [(418, "short and stout")]


def test_middleware_can_replace_an_inner_error_response(app, client):
    async def soften(c, next):
        await next()
        if c.res.status >= 500:
            c.res = c.json({"error": "please retry"}, 503)

    app.use(soften)

    @app.get("/")
    async def boom(c):
        raise RuntimeError("down")

    response = client.get("/")

    assert response.status_code == 503
    assert response.json() == {"error": "please retry"}


def test_value_returned_after_next_becomes_the_response(app, client):
    async def override(c, next):
        await next()
        return c.text("from middleware", 200)

    app.use(override)
    app.get("/", lambda c: "from handler")

    assert client.get("/").text == "from middleware"


def test_plain_value_returned_after_next_is_converted(app, client):
    async def override(c, next):
        await next()
        return {"wrapped": c.res.text}

    app.use(override)
    app.get("/", lambda c: "inner")

    response = client.get("/")

    assert response.json() == {"wrapped": "inner"}
    assert response.headers["content-type"].startswith("application/json")


def test_middleware_marked_with_decorator_works_with_use(app, client):
    @create_middleware
    async def tag(c, next):
        await next()
        c.res.headers["x-marked"] = "1"

    app.use(tag)
    app.get("/", lambda c: "ok")

    assert client.get("/").headers["x-marked"] == "1"


def test_middleware_subclass_instance_works_with_use(app, client):
    class Counter(Middleware):
        def __init__(self):
            self.count = 0

        async def __call__(self, c, next):
            self.count += 1
            await next()
            c.res.headers["x-count"] = str(self.count)

    counter = Counter()
    app.use(counter)
    app.get("/", lambda c: "ok")

    client.get("/")
    response = client.get("/")

    assert response.headers["x-count"] == "2"
    assert counter.count == 2


def test_error_in_middleware_before_next_answers_500_without_running_the_handler(app, client):
    ran = []

    async def broken(c, next):
        raise RuntimeError("middleware failed")

    async def handler(c):
        ran.append(True)
        return "ok"

    app.use(broken)
    app.get("/", handler)

    assert client.get("/").status_code == 500
    assert ran == []


def test_http_exception_in_middleware_gives_its_status(app, client):
    async def need_token(c, next):
        if c.req.header("x-token") != "secret":
            raise HTTPException(401, "token required")
        await next()

    app.use(need_token)
    app.get("/", lambda c: "ok")

    denied = client.get("/")
    allowed = client.get("/", headers={"X-Token": "secret"})

    assert (denied.status_code, denied.text) == (401, "token required")
    assert (allowed.status_code, allowed.text) == (200, "ok")


def test_error_after_next_in_inner_middleware_is_seen_by_outer_middleware(app, client):
    seen = []

    async def outer(c, next):
        await next()
        seen.append(c.res.status)

    async def inner(c, next):
        await next()
        raise RuntimeError("inner failed on the way out")

    app.use(outer, inner)
    app.get("/", lambda c: "ok")

    assert client.get("/").status_code == 500
    assert seen == [500]


def test_middleware_registered_after_a_final_handler_does_not_run_for_it(app, client):
    ran = []

    async def late(c, next):
        ran.append(True)
        await next()

    app.get("/", lambda c: "ok")
    app.use(late)

    assert client.get("/").text == "ok"
    assert ran == []
