"""Errors: HTTPException and its subclasses, on_error, and unhandled errors."""

from __future__ import annotations

import logging

import pytest

from microweb import ForbiddenError, HTTPException, UnauthorizedError


def test_http_exception_gives_its_status_message_and_headers(app, client):
    @app.get("/")
    async def handler(c):
        raise HTTPException(429, "slow down", headers={"Retry-After": "30"})

    response = client.get("/")

    assert response.status_code == 429
    assert response.text == "slow down"
    assert response.headers["retry-after"] == "30"


def test_http_exception_without_message_uses_the_reason_phrase(app, client):
    @app.get("/")
    async def handler(c):
        raise HTTPException(404)

    response = client.get("/")

    assert (response.status_code, response.text) == (404, "Not Found")


def test_http_exception_rejects_a_non_error_status():
    with pytest.raises(ValueError):
        HTTPException(200)


def test_unauthorized_error_is_a_401(app, client):
    @app.get("/")
    async def handler(c):
        raise UnauthorizedError()

    response = client.get("/")

    assert response.status_code == 401
    assert response.text == "Unauthorized"


def test_unauthorized_error_takes_a_message_and_headers(app, client):
    @app.get("/")
    async def handler(c):
        raise UnauthorizedError("log in first", headers={"WWW-Authenticate": "Bearer"})

    response = client.get("/")

    assert (response.status_code, response.text) == (401, "log in first")
    assert response.headers["www-authenticate"] == "Bearer"


def test_forbidden_error_is_a_403(app, client):
    @app.get("/")
    async def handler(c):
        raise ForbiddenError("admins only")

    response = client.get("/")

    assert (response.status_code, response.text) == (403, "admins only")


def test_unauthorized_and_forbidden_are_http_exceptions():
    assert isinstance(UnauthorizedError(), HTTPException)
    assert isinstance(ForbiddenError(), HTTPException)
    assert UnauthorizedError().status == 401
    assert ForbiddenError().status == 403


def test_error_body_is_json_when_the_client_accepts_json(app, client):
    @app.get("/")
    async def handler(c):
        raise ForbiddenError("admins only")

    response = client.get("/", headers={"Accept": "application/json"})

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "admins only", "status": 403}


def test_error_body_is_html_when_the_client_accepts_html(app, client):
    @app.get("/")
    async def handler(c):
        raise HTTPException(400, "<bad> input")

    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})

    assert response.headers["content-type"].startswith("text/html")
    assert "&lt;bad&gt; input" in response.text
    assert "<bad>" not in response.text


def test_error_pages_say_the_status_and_its_phrase_once(app, client):
    app.post("/only-post", lambda c: "x")

    @app.get("/broken")
    async def broken(c):
        raise RuntimeError("boom")

    html = {"Accept": "text/html"}
    pages = {
        404: client.get("/missing", headers=html).text,
        405: client.get("/only-post", headers=html).text,
        500: client.get("/broken", headers=html).text,
    }

    for status, phrase in (
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (500, "Internal Server Error"),
    ):
        page = pages[status]
        assert f"<title>{status} {phrase}</title>" in page
        assert f"<h1>{status} {phrase}</h1>" in page
        assert page.count(str(status)) == 2  # the title and the heading, nothing doubled
        assert page.count(phrase) == 2


def test_an_error_page_shows_a_message_that_says_more_than_the_status(app, client):
    @app.get("/")
    async def handler(c):
        raise ForbiddenError("admins only")

    page = client.get("/", headers={"Accept": "text/html"}).text

    assert "<title>403 Forbidden</title>" in page
    assert "<h1>403 Forbidden</h1><p>admins only</p>" in page


def test_405_is_json_when_the_client_accepts_json(app, client):
    app.post("/only-post", lambda c: "x")

    response = client.get("/only-post", headers={"Accept": "application/json"})

    assert response.status_code == 405
    assert response.json()["status"] == 405


def test_on_error_receives_an_http_exception(app, client):
    seen = []

    @app.on_error
    async def handle(err, c):
        seen.append(err)
        return c.json({"handled": err.status}, err.status)

    @app.get("/")
    async def handler(c):
        raise UnauthorizedError()

    response = client.get("/")

    assert response.status_code == 401
    assert response.json() == {"handled": 401}
    assert isinstance(seen[0], UnauthorizedError)


def test_on_error_receives_other_errors(app, client):
    @app.on_error
    async def handle(err, c):
        return c.text(f"{type(err).__name__}: {err}", 500)

    @app.get("/")
    async def handler(c):
        raise KeyError("missing")

    response = client.get("/")

    assert response.status_code == 500
    assert response.text == "KeyError: 'missing'"


def test_on_error_can_be_registered_without_decorator(app, client):
    app.on_error(lambda err, c: c.text("sync handler", 503))
    app.get("/", lambda c: 1 / 0)

    response = client.get("/")

    assert (response.status_code, response.text) == (503, "sync handler")


def test_on_error_handles_errors_raised_in_middleware(app, client):
    @app.on_error
    async def handle(err, c):
        return c.text("caught " + str(err), 500)

    async def broken(c, next):
        raise RuntimeError("mw")

    app.use(broken)
    app.get("/", lambda c: "ok")

    assert client.get("/").text == "caught mw"


def test_on_error_that_raises_falls_back_to_a_500(app, client, caplog):
    @app.on_error
    async def handle(err, c):
        raise RuntimeError("handler broke too")

    app.get("/", lambda c: 1 / 0)

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_unhandled_error_is_a_500_without_traceback(app, client):
    @app.get("/")
    async def handler(c):
        raise RuntimeError("database password is hunter2")

    response = client.get("/")

    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


def test_unhandled_error_answers_json_to_json_clients_without_details(app, client):
    @app.get("/")
    async def handler(c):
        raise RuntimeError("secret detail")

    response = client.get("/", headers={"Accept": "application/json"})

    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error", "status": 500}


def test_unhandled_error_is_logged_with_its_traceback(app, client, caplog):
    @app.get("/orders")
    async def failing_handler(c):
        raise RuntimeError("boom in orders")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        client.get("/orders")

    records = [r for r in caplog.records if r.name == "microweb"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert "/orders" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert "boom in orders" in caplog.text
    assert "failing_handler" in caplog.text


def test_an_unhandled_error_logs_the_path_with_its_control_characters_escaped(app, client, caplog):
    @app.get("/orders/*")
    async def failing_handler(c):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        # (CR and LF never get this far: such a path is refused before routing.)
        client.get("/orders/x%C2%85INFO%20forged%20line%E2%80%A8%5C")

    [record] = [r for r in caplog.records if r.name == "microweb"]
    assert record.getMessage() == (
        "Unhandled error in GET /orders/x\\x85INFO forged line\\u2028\\\\"
    )


def test_http_exception_is_not_logged_as_an_error(app, client, caplog):
    @app.get("/")
    async def handler(c):
        raise HTTPException(404)

    with caplog.at_level(logging.ERROR, logger="microweb"):
        client.get("/")

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_error_in_a_sync_handler_is_a_500(app, client):
    def handler(c):
        raise ValueError("sync failure")

    app.get("/", handler)

    assert client.get("/").status_code == 500


def test_http_exception_raised_in_the_not_found_handler_gives_its_status(app, client):
    @app.not_found
    async def missing(c):
        raise HTTPException(410, "gone for good")

    response = client.get("/old-page")

    assert (response.status_code, response.text) == (410, "gone for good")


def test_error_in_the_not_found_handler_is_a_logged_500(app, client, caplog):
    @app.not_found
    async def missing(c):
        raise RuntimeError("not found handler broke")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/old-page")

    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "not found handler broke" in caplog.text


def test_error_in_the_not_found_handler_is_seen_by_middleware_as_a_response(app, client):
    seen = []

    async def observe(c, next):
        await next()
        seen.append(c.res.status)

    app.use(observe)

    @app.not_found
    async def missing(c):
        raise HTTPException(410, "gone")

    assert client.get("/old-page").status_code == 410
    assert seen == [410]


# The one-handler chain is called directly, a longer one through the onion: both settle
# a handler's result the same way.
@pytest.mark.parametrize("with_middleware", [False, True])
def test_handler_returning_none_without_a_response_is_a_logged_500(
    app, client, caplog, with_middleware
):
    async def outer(c, next):
        await next()

    if with_middleware:
        app.use(outer)

    @app.get("/")
    async def forgetful(c):
        c.status(201)

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert "forgetful" in caplog.text
    assert "returned None without setting c.res" in caplog.text


def test_on_error_answering_c_not_found_gives_the_not_found_answer(app, client):
    @app.not_found
    async def missing(c):
        return c.text(f"nothing at {c.req.path}", 404)

    app.on_error(lambda err, c: c.not_found())
    app.get("/", lambda c: 1 / 0)

    response = client.get("/")

    assert (response.status_code, response.text) == (404, "nothing at /")


def test_on_error_returning_none_falls_back_to_the_default_answer(app, client):
    app.on_error(lambda err, c: None)

    @app.get("/")
    async def handler(c):
        raise ForbiddenError("admins only")

    response = client.get("/")

    assert (response.status_code, response.text) == (403, "admins only")
