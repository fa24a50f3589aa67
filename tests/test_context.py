"""The context `c`: status and header defaults, variables, return values, c.res."""

from __future__ import annotations

import logging

import pytest

from microweb import Response

# -- c.status --------------------------------------------------------------------


def test_status_applies_to_the_response_built_afterwards(app, client):
    @app.post("/items")
    async def create(c):
        c.status(201)
        return c.json({"id": 1})

    response = client.post("/items")

    assert response.status_code == 201
    assert response.json() == {"id": 1}


def test_status_applies_to_a_returned_string(app, client):
    @app.get("/")
    async def accepted(c):
        c.status(202)
        return "queued"

    response = client.get("/")

    assert (response.status_code, response.text) == (202, "queued")


def test_explicit_status_argument_wins_over_c_status(app, client):
    @app.get("/")
    async def handler(c):
        c.status(201)
        return c.text("x", 203)

    assert client.get("/").status_code == 203


def test_status_after_next_changes_the_response(app, client):
    async def mw(c, next):
        await next()
        c.status(299)

    app.use(mw)
    app.get("/", lambda c: "ok")

    assert client.get("/").status_code == 299


# -- c.header --------------------------------------------------------------------


def test_header_set_in_handler_is_sent(app, client):
    @app.get("/")
    async def handler(c):
        c.header("X-Request-Id", "abc")
        return c.text("ok")

    assert client.get("/").headers["x-request-id"] == "abc"


def test_header_set_in_handler_applies_to_converted_return_values(app, client):
    @app.get("/")
    async def handler(c):
        c.header("x-kind", "dict")
        return {"a": 1}

    response = client.get("/")

    assert response.headers["x-kind"] == "dict"
    assert response.json() == {"a": 1}


def test_header_set_replaces_an_earlier_value(app, client):
    @app.get("/")
    async def handler(c):
        c.header("x-v", "1")
        c.header("x-v", "2")
        return "ok"

    assert client.get("/").headers.getall("x-v") == ["2"]


def test_header_append_adds_a_second_value(app, client):
    @app.get("/")
    async def handler(c):
        c.header("link", "</a>; rel=preload")
        c.header("link", "</b>; rel=preload", append=True)
        return "ok"

    assert client.get("/").headers.getall("link") == ["</a>; rel=preload", "</b>; rel=preload"]


def test_header_none_removes_it(app, client):
    @app.get("/")
    async def handler(c):
        c.header("x-temp", "1")
        c.header("x-temp", None)
        return "ok"

    assert "x-temp" not in client.get("/").headers


def test_header_none_after_next_removes_a_header_of_the_response(app, client):
    async def strip(c, next):
        await next()
        c.header("x-internal", None)

    app.use(strip)
    app.get("/", lambda c: c.text("ok", headers={"x-internal": "secret"}))

    assert "x-internal" not in client.get("/").headers


def test_header_set_before_next_reaches_the_handlers_response(app, client):
    async def mw(c, next):
        c.header("x-before", "mw")
        await next()

    app.use(mw)
    app.get("/", lambda c: c.text("ok"))

    assert client.get("/").headers["x-before"] == "mw"


def test_header_after_next_changes_c_res(app, client):
    async def mw(c, next):
        await next()
        c.header("x-after", "mw")
        c.header("content-type", "text/x-custom")

    app.use(mw)
    app.get("/", lambda c: "ok")

    response = client.get("/")

    assert response.headers["x-after"] == "mw"
    assert response.headers["content-type"] == "text/x-custom"


def test_header_set_by_handler_overrides_the_content_type(app, client):
    @app.get("/")
    async def handler(c):
        c.header("content-type", "text/csv")
        return c.text("a,b")

    assert client.get("/").headers.getall("content-type") == ["text/csv"]


def test_headers_argument_of_a_response_helper_is_sent(app, client):
    app.get("/", lambda c: c.json([1], headers={"cache-control": "no-store"}))

    assert client.get("/").headers["cache-control"] == "no-store"


def test_header_with_a_newline_is_refused(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.header("x-evil", "a\r\nset-cookie: x=1")
        return "safe"

    response = client.get("/")

    assert response.text == "safe"
    assert "x-evil" not in response.headers


# -- variables ---------------------------------------------------------------------


def test_set_in_middleware_is_readable_with_get_in_handler(app, client):
    async def mw(c, next):
        c.set("user", "ann")
        await next()

    app.use(mw)
    app.get("/", lambda c: c.get("user"))

    assert client.get("/").text == "ann"


def test_get_returns_the_default_for_a_missing_key(app, client):
    app.get("/", lambda c: {"none": c.get("nope"), "default": c.get("nope", "fallback")})

    assert client.get("/").json() == {"none": None, "default": "fallback"}


def test_var_gives_item_and_attribute_access(app, client):
    async def mw(c, next):
        c.set("session", {"id": 9})
        await next()

    app.use(mw)
    app.get("/", lambda c: {"item": c.var["session"], "attr": c.var.session})

    assert client.get("/").json() == {"item": {"id": 9}, "attr": {"id": 9}}


def test_var_is_read_only(app, client):
    @app.get("/")
    async def handler(c):
        c.set("a", 1)
        with pytest.raises(TypeError):
            c.var["a"] = 2
        with pytest.raises(AttributeError):
            c.var.a = 2
        return {"a": c.get("a")}

    assert client.get("/").json() == {"a": 1}


def test_var_missing_attribute_raises_attribute_error(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(AttributeError):
            _ = c.var.missing
        return {"has": "missing" in c.var, "keys": list(c.var)}

    assert client.get("/").json() == {"has": False, "keys": []}


def test_variables_do_not_leak_between_requests(app, client):
    @app.get("/")
    async def handler(c):
        before = c.get("count")
        c.set("count", 1)
        return {"before": before}

    client.get("/")

    assert client.get("/").json() == {"before": None}


# -- return values -----------------------------------------------------------------


def test_returning_str_gives_text_plain(app, client):
    app.get("/", lambda c: "h\u00e9llo")

    response = client.get("/")

    assert response.text == "h\u00e9llo"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_returning_dict_gives_json(app, client):
    app.get("/", lambda c: {"name": "\u00e9", "n": [1, 2]})

    response = client.get("/")

    assert response.json() == {"name": "\u00e9", "n": [1, 2]}
    assert response.headers["content-type"].startswith("application/json")


def test_returning_list_gives_json(app, client):
    app.get("/", lambda c: [1, "two", None])

    response = client.get("/")

    assert response.json() == [1, "two", None]
    assert response.headers["content-type"].startswith("application/json")


def test_returning_bytes_gives_a_binary_body(app, client):
    app.get("/", lambda c: b"\x00\xffraw")

    response = client.get("/")

    assert response.content == b"\x00\xffraw"
    assert response.headers["content-type"] == "application/octet-stream"


def test_returned_body_has_a_content_length(app, client):
    app.get("/", lambda c: "\u2713")

    assert client.get("/").headers["content-length"] == "3"


def test_returning_none_after_setting_c_res_sends_c_res(app, client):
    @app.get("/")
    async def handler(c):
        c.res = c.text("set directly", 201)

    response = client.get("/")

    assert (response.status_code, response.text) == (201, "set directly")


def test_returning_none_without_c_res_answers_500_and_logs(app, client, caplog):
    @app.get("/")
    async def forgetful(c):
        c.text("built but not returned")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert response.status_code == 500
    assert "forgetful" in caplog.text


def test_returning_an_unsupported_type_answers_500(app, client, caplog):
    app.get("/", lambda c: 42)

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert response.status_code == 500
    assert "int" in caplog.text


def test_assigning_a_non_response_to_c_res_is_a_type_error(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(TypeError):
            c.res = "not a response"
        return "ok"

    assert client.get("/").text == "ok"


def test_c_res_is_none_before_a_handler_answers(app, client):
    seen = []

    async def mw(c, next):
        seen.append(c.res)
        await next()
        seen.append(c.res is not None)

    app.use(mw)
    app.get("/", lambda c: "ok")

    client.get("/")

    assert seen == [None, True]


def test_header_defaults_apply_to_a_response_built_directly(app, client):
    async def mw(c, next):
        c.header("x-request-id", "r1")
        c.set_cookie("seen", "1")
        await next()

    app.use(mw)
    app.get("/", lambda c: Response("direct", 200, media_type="text/plain"))

    response = client.get("/")

    assert response.text == "direct"
    assert response.headers["x-request-id"] == "r1"
    assert response.cookies == {"seen": "1"}


def test_header_set_before_an_error_is_on_the_error_response(app, client):
    async def mw(c, next):
        c.header("x-request-id", "r2")
        await next()

    app.use(mw)

    @app.get("/")
    async def boom(c):
        raise RuntimeError("fail")

    response = client.get("/")

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "r2"


def test_header_set_before_a_not_found_is_on_the_404(app, client):
    async def mw(c, next):
        c.header("x-request-id", "r3")
        await next()

    app.use(mw)

    response = client.get("/missing")

    assert response.status_code == 404
    assert response.headers["x-request-id"] == "r3"
