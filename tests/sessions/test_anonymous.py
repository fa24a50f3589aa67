"""Anonymous visitors: a session holding nothing but its CSRF token lives in its
cookie, not in the store, on every server-side driver."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from microweb import MicroWeb, csrf, csrf_field, login, session
from microweb.context import Context
from microweb.csrf_protection import unmask_token
from microweb.sessions import SessionMiddleware
from microweb.sessions.store import is_valid_id
from microweb.sessions.token_cookie import read_token_cookie, token_cookie
from microweb.testing import TestClient, TestResponse
from microweb.testing.driver import call_app

from ..browsers import Browser
from .conftest import COOKIE


def build_site(**options: Any) -> MicroWeb:
    """A site with a form, the POST it sends, and pages that store data."""
    app = MicroWeb()
    app.use(session(**options))
    app.use(csrf())

    @app.get("/form")
    async def form(c: Context) -> Any:
        return c.html(f'<form method="post" action="/submit">{csrf_field(c)}</form>')

    @app.post("/submit")
    async def submit(c: Context) -> str:
        return "submitted"

    @app.get("/token")
    async def token(c: Context) -> dict[str, str]:
        return {"token": c.get("session").token()}

    @app.get("/set/:key/:value")
    async def put(c: Context) -> str:
        c.get("session").put(c.req.param("key"), c.req.param("value"))
        return "ok"

    @app.get("/get/:key")
    async def get(c: Context) -> Any:
        return {"value": c.get("session").get(c.req.param("key"))}

    @app.get("/state")
    async def state(c: Context) -> dict[str, Any]:
        s = c.get("session")
        return {"is_new": s.is_new, "modified": s.modified, "token": s.get("_token")}

    @app.get("/id")
    async def session_id(c: Context) -> dict[str, str]:
        s = c.get("session")
        s.token()
        return {"id": s.id}

    @app.post("/flash")
    async def flash(c: Context) -> str:
        c.get("session").flash("notice", "Thanks!")
        return "flashed"

    @app.get("/flush")
    async def flush(c: Context) -> str:
        c.get("session").flush()
        return "flushed"

    @app.post("/login/:user")
    async def do_login(c: Context) -> str:
        await login(c, c.req.param("user"))
        return "in"

    @app.get("/plain")
    async def plain(c: Context) -> str:
        return "plain"

    @app.ws("/socket")
    async def socket(c: Context, ws: Any) -> None:
        await ws.accept()
        await ws.send_json({"token": c.get("session").token()})
        await ws.close()

    return app


@pytest.fixture
def open_site(make_client: Callable[..., TestClient]) -> Callable[..., TestClient]:
    """Opens the site with the given session options."""
    return functools.partial(make_client, build_site)


@pytest.fixture
def site(open_site: Callable[..., TestClient], session_options: dict[str, Any]) -> TestClient:
    return open_site(**session_options)


@pytest.fixture
def counted(open_site: Callable[..., TestClient], server_store: Any) -> TestClient:
    """The site on a server-side store that counts its calls (`server_store.calls`)."""
    return open_site(driver=server_store)


def field_token(response: TestResponse) -> str:
    found = re.search(r'name="_token" value="([^"]+)"', response.text)
    assert found is not None, response.text
    return found.group(1)


def set_cookie(response: TestResponse) -> str:
    [cookie] = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    return cookie


# -- nothing stored ---------------------------------------------------------------


def test_a_visitor_who_only_saw_forms_is_never_stored(
    counted: TestClient, server_store: Any
) -> None:
    for _ in range(3):
        assert counted.get("/form").status_code == 200
    assert counted.post("/submit", form={"_token": field_token(counted.get("/form"))}).text == (
        "submitted"
    )
    # Not written, and the token cookie never reached a store lookup either.
    assert server_store.calls["save"] == 0
    assert server_store.calls["load"] == 0


def test_a_form_page_sets_a_token_cookie_that_carries_the_forms_token(
    counted: TestClient,
) -> None:
    response = counted.get("/form")
    value = counted.cookies.get(COOKIE)
    assert value is not None and not is_valid_id(value)
    carried = read_token_cookie(value)
    assert carried is not None
    assert unmask_token(field_token(response)) == carried.token
    assert response.headers["vary"] == "Cookie"


def test_a_form_rendered_earlier_still_validates(site: TestClient) -> None:
    first = field_token(site.get("/form"))
    site.get("/form")  # another page in between
    assert site.post("/submit", form={"_token": first}).status_code == 200


def test_the_token_stays_the_same_across_requests(site: TestClient) -> None:
    token = site.get("/token").json()["token"]
    assert site.get("/token").json()["token"] == token
    assert site.get("/state").json() == {"is_new": False, "modified": False, "token": token}


def test_a_new_visitor_is_new_and_one_who_carries_a_token_is_not(site: TestClient) -> None:
    assert site.get("/state").json()["is_new"] is True
    site.get("/form")
    assert site.get("/state").json()["is_new"] is False


def test_a_token_from_another_visitor_fails(site: TestClient) -> None:
    one, other = Browser(site), Browser(site)
    mine = field_token(one.get("/form"))
    other.get("/form")
    assert other.post("/submit", form={"_token": mine}).status_code == 403
    assert one.post("/submit", form={"_token": mine}).status_code == 200


def test_a_request_that_never_uses_the_session_keeps_the_cookie_and_sends_none(
    site: TestClient,
) -> None:
    site.get("/form")
    response = site.get("/plain")
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


# -- stored once there is data -----------------------------------------------------


def test_storing_data_creates_the_session_under_a_fresh_id_and_keeps_the_token(
    counted: TestClient, server_store: Any
) -> None:
    form = field_token(counted.get("/form"))
    counted.get("/set/cart/tea")
    sid = counted.cookies.get(COOKIE)
    assert is_valid_id(sid)
    assert server_store.calls["save"] == 1
    assert asyncio.run(server_store.load(sid, 60)) is not None
    assert counted.get("/get/cart").json() == {"value": "tea"}
    assert counted.post("/submit", form={"_token": form}).status_code == 200


def test_flash_data_of_an_anonymous_visitor_is_stored_and_shown_once(
    counted: TestClient, server_store: Any
) -> None:
    token = counted.get("/token").json()["token"]
    counted.post("/flash", headers={"x-csrf-token": token})
    assert server_store.calls["save"] == 1
    assert counted.get("/get/notice").json() == {"value": "Thanks!"}
    assert counted.get("/get/notice").json() == {"value": None}


def test_reading_the_id_keeps_the_session_so_the_id_holds_next_time(
    counted: TestClient, server_store: Any
) -> None:
    sid = counted.get("/id").json()["id"]
    assert counted.cookies.get(COOKIE) == sid
    assert counted.get("/id").json()["id"] == sid
    assert server_store.calls["save"] == 1


def test_login_from_a_token_cookie_stores_a_new_session_and_rotates_the_token(
    counted: TestClient,
) -> None:
    form = field_token(counted.get("/form"))
    assert counted.post("/login/alice", form={"_token": form}).text == "in"
    assert is_valid_id(counted.cookies.get(COOKIE))
    assert counted.post("/submit", form={"_token": form}).status_code == 403
    assert counted.post("/submit", form={"_token": field_token(counted.get("/form"))}).text == (
        "submitted"
    )


def test_flushing_a_carried_token_forgets_it(site: TestClient) -> None:
    form = field_token(site.get("/form"))
    site.get("/flush")
    site.get("/form")
    assert site.post("/submit", form={"_token": form}).status_code == 403


def test_flushing_a_carried_token_removes_the_cookie(counted: TestClient) -> None:
    counted.get("/form")
    assert "Max-Age=0" in set_cookie(counted.get("/flush"))
    assert counted.cookies.get(COOKIE) is None


# -- the cookie itself -----------------------------------------------------------------


def test_the_token_cookie_has_the_session_cookies_max_age_and_attributes(
    counted: TestClient,
) -> None:
    cookie = set_cookie(counted.get("/form"))
    assert "Max-Age=7200" in cookie
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_with_expire_on_close_the_token_cookie_has_no_max_age(
    open_site: Callable[..., TestClient],
) -> None:
    cookie = set_cookie(open_site(expire_on_close=True).get("/form"))
    assert "Max-Age" not in cookie and "Expires" not in cookie


def test_a_signed_token_cookie_that_was_tampered_with_gives_a_new_token(
    open_site: Callable[..., TestClient],
) -> None:
    client = open_site(secret="s" * 32)
    form = field_token(client.get("/form"))
    value = client.cookies.get(COOKIE)
    assert value is not None and value.count(".") == 1  # token-cookie.signature
    carried = read_token_cookie(value.split(".")[0])
    assert carried is not None
    forged = token_cookie("A" * 43, carried.created, carried.seen) + value[value.index(".") :]
    client.cookies.set(COOKIE, forged)
    assert client.get("/token").json()["token"] != "A" * 43
    client.cookies.set(COOKIE, value)
    assert client.post("/submit", form={"_token": form}).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "t~1~1~short",
        "t~x~1~" + "A" * 43,
        "t~\u00b2~\u00b2~" + "A" * 43,  # digits that str.isdigit() accepts, int() does not
        "t~" + "9" * 5000 + "~1~" + "A" * 43,
        "t~1~1~" + "A" * 43 + "~",
    ],
)
def test_a_malformed_token_cookie_gives_a_new_session(
    counted: TestClient, server_store: Any, value: str
) -> None:
    counted.cookies.set(COOKIE, value)
    response = counted.get("/state")
    assert response.status_code == 200
    assert response.json() == {"is_new": True, "modified": False, "token": None}
    assert server_store.calls["load"] == 0


def test_an_idle_token_cookie_is_refused_on_the_server(
    open_site: Callable[..., TestClient],
) -> None:
    client = open_site(lifetime=1)  # 60 s
    token = client.get("/token").json()["token"]
    now = time.time()
    # The same token, last used 61 s ago (without `secret` the value can be written by hand).
    client.cookies.set(COOKIE, token_cookie(token, now - 61, now - 61))
    assert client.get("/token").json()["token"] != token
    client.cookies.set(COOKIE, token_cookie(token, now - 61, now - 59))
    assert client.get("/token").json()["token"] == token


def test_a_token_cookie_replayed_after_the_idle_timeout_is_refused(
    open_site: Callable[..., TestClient],
) -> None:
    client = open_site(lifetime=0.015)  # 0.9 s idle; the store plays no part
    form = field_token(client.get("/form"))
    time.sleep(0.5)
    assert client.post("/submit", form={"_token": form}).status_code == 200  # slides
    time.sleep(0.5)
    assert client.post("/submit", form={"_token": form}).status_code == 200
    time.sleep(1.2)
    assert client.post("/submit", form={"_token": form}).status_code == 403


def test_a_token_cookie_older_than_the_absolute_lifetime_is_refused(
    open_site: Callable[..., TestClient],
) -> None:
    client = open_site(absolute_lifetime=1)  # 60 s
    token = client.get("/token").json()["token"]
    now = time.time()
    client.cookies.set(COOKIE, token_cookie(token, now - 61, now))
    assert client.get("/token").json()["token"] != token


def test_the_cookie_driver_keeps_the_token_in_its_own_cookie(
    open_site: Callable[..., TestClient],
) -> None:
    client = open_site(driver="cookie", secret="s" * 32)
    form = field_token(client.get("/form"))
    assert read_token_cookie(client.cookies.get(COOKIE) or "") is None
    assert client.post("/submit", form={"_token": form}).status_code == 200


# -- WebSockets and plain ASGI apps ---------------------------------------------------


def test_a_websocket_sees_the_token_its_cookie_carries(server_store: Any) -> None:
    app = build_site(driver=server_store)

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        page = await call_app(app, "GET", "https://testserver/token")
        cookie = page.headers["set-cookie"].split(";")[0]
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "wss",
            "path": "/socket",
            "raw_path": b"/socket",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 443),
            "subprotocols": [],
        }
        incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        await server_store.close()  # the app opened it at its first request
        return page.json()["token"], sent

    token, sent = asyncio.run(scenario())
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert json.loads(sent[1]["text"]) == {"token": token}
    assert server_store.calls["save"] == 0


def test_session_middleware_around_an_asgi_app_keeps_a_token_in_the_cookie(
    server_store: Any,
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        token = scope["session"].token().encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": token})

    client = TestClient(SessionMiddleware(app, driver=server_store))  # no lifespan
    try:
        first = client.get("/").text
        assert read_token_cookie(client.cookies.get(COOKIE) or "") is not None
        assert client.get("/").text == first
    finally:
        client.close()
    assert server_store.calls["save"] == 0
