"""What every driver does over HTTP: laziness, cookies, ids, timeouts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest

from microweb import MicroWeb, login
from microweb.sessions import session
from microweb.sessions.store import new_id
from microweb.testing import TestClient

from .conftest import COOKIE


def set_cookies(response: Any) -> list[str]:
    return [v for v in response.headers.getall("set-cookie") if v.startswith(COOKIE + "=")]


def test_untouched_request_sends_no_cookie(client: TestClient) -> None:
    response = client.get("/plain")
    assert response.status_code == 200
    assert set_cookies(response) == []


def test_read_only_request_without_session_creates_nothing(client: TestClient) -> None:
    response = client.get("/get/anything")
    assert set_cookies(response) == []
    assert COOKIE not in client.cookies


def test_written_session_survives_to_the_next_request(client: TestClient) -> None:
    client.get("/set/name/ada")
    assert client.get("/get/name").json() == {"value": "ada"}


def test_cookie_has_the_configured_attributes(client: TestClient) -> None:
    [cookie] = set_cookies(client.get("/set/a/1"))
    assert "Max-Age=7200" in cookie
    assert "Path=/" in cookie
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_existing_session_cookie_is_sent_again_with_a_sliding_max_age(
    client: TestClient,
) -> None:
    client.get("/set/a/1")
    [cookie] = set_cookies(client.get("/get/a"))
    assert "Max-Age=7200" in cookie


def test_untouched_request_on_a_live_session_sends_no_cookie(client: TestClient) -> None:
    client.get("/set/a/1")
    response = client.get("/plain")
    assert set_cookies(response) == []
    assert client.get("/get/a").json() == {"value": "1"}


def test_expire_on_close_cookie_has_no_max_age(
    make_client: Callable[..., TestClient], session_options: dict[str, Any]
) -> None:
    client = make_client(**session_options, expire_on_close=True)
    [cookie] = set_cookies(client.get("/set/a/1"))
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie
    assert client.get("/get/a").json() == {"value": "1"}


def test_session_reading_response_varies_on_cookie(client: TestClient) -> None:
    assert client.get("/get/a").headers.getall("vary") == ["Cookie"]
    assert client.get("/plain").headers.get("vary") is None


# Every way a handler can look at the session without changing it.
READS = {
    "in": lambda s: "user_id" in s,
    "get": lambda s: s.get("user_id"),
    "has": lambda s: s.has("user_id"),
    "len": len,
    "bool": bool,
    "iter": list,
    "keys": lambda s: s.keys(),
    "all": lambda s: s.all(),
    "index": lambda s: [s[key] for key in s],
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_session_only_read_or_tested_with_in_varies_on_cookie(
    session_options: dict[str, Any], read: str
) -> None:
    # Flask CVE-2023-30861 and 2026-27205: a page that only looked at the session (`in`,
    # say) went out without Vary: Cookie, so a shared cache served one user's page to others.
    app = MicroWeb()
    app.use(session(**session_options))
    app.get("/start", lambda c: c.get("session").put("user_id", "ann") or "ok")

    @app.get("/page")
    async def page(c: Any) -> str:
        READS[read](c.get("session"))
        return "page"

    with TestClient(app) as client:
        anonymous = client.get("/page")
        client.get("/start")
        signed_in = client.get("/page")

    assert anonymous.headers.getall("vary") == ["Cookie"]
    assert signed_in.headers.getall("vary") == ["Cookie"]


def test_vary_cookie_is_appended_to_the_handlers_vary(session_options: dict[str, Any]) -> None:
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/")
    async def index(c: Any) -> Any:
        c.get("session").get("a")
        return c.text("hi", headers={"Vary": "Accept-Encoding"})

    with TestClient(app) as client:
        assert client.get("/").headers.getall("vary") == ["Accept-Encoding", "Cookie"]


def test_nested_change_is_persisted(client: TestClient) -> None:
    client.get("/cart/tea")
    client.get("/cart/milk")
    assert client.get("/get/cart").json() == {"value": ["tea", "milk"]}


def test_tagged_values_round_trip_between_requests(session_options: dict[str, Any]) -> None:
    value = {
        "at": datetime(2024, 5, 1, 12, 0),
        "on": date(2024, 5, 1),
        "id": UUID(int=7),
        "price": Decimal("9.99"),
        "raw": b"\x00\x01",
        "tags": {"a", "b"},
        "point": (1, 2),
    }
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/put")
    async def put(c: Any) -> str:
        c.get("session").put("value", value)
        return "ok"

    @app.get("/check")
    async def check(c: Any) -> Any:
        return {"equal": c.get("session").get("value") == value}

    with TestClient(app) as client:
        client.get("/put")
        assert client.get("/check").json() == {"equal": True}


# Every kind of string a JSON body can carry: lone surrogates (high, low, one of each the
# wrong way round), characters outside the BMP, Unicode digits, a long run of digits.
ODD_STRINGS = {
    "lone high": "hi \ud800",
    "lone low": "\udc00x",
    "reversed pair": "\udc00\ud800",
    "non-BMP": "\U0001f600 \U00010348",
    "digits": "\u00b2\u0663\uff14\U0001d7d8",
    "long digits": "9" * 5000,
    "nested": {"key \ud800": ["\udfff", {"deep": "\ud83d"}]},
}


def test_every_string_json_can_carry_is_stored_and_read_back(client: TestClient) -> None:
    body = json.dumps(ODD_STRINGS)  # ASCII, the surrogates as \\uXXXX escapes

    saved = client.post("/json/note", content=body, headers={"content-type": "application/json"})

    assert (saved.status_code, saved.text) == (200, "ok")
    assert client.get("/get/note").json() == {"value": ODD_STRINGS}


@pytest.mark.parametrize("key", ["a\x00b", "\x00", "\x01", "\x01" + "0", "\x01\x01x\x00"])
def test_a_key_holding_nul_or_control_characters_is_stored_and_removed_on_every_driver(
    session_options: dict[str, Any], key: str
) -> None:
    """PostgreSQL's jsonb holds no U+0000: its store escapes such text and reads it back."""
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/")
    async def change(c: Any) -> Any:
        s, name = c.get("session"), c.req.query("key")
        if c.req.query("do") == "put":
            s.put(name, "v\x00" + name)
            s.put("plain", name)
        elif c.req.query("do") == "forget":
            s.forget(name)
        return {"value": s.get(name), "plain": s.get("plain")}

    encoded = quote(key, safe="")
    with TestClient(app) as client:
        put = client.get(f"/?do=put&key={encoded}").json()
        read = client.get(f"/?key={encoded}").json()
        forgotten = client.get(f"/?do=forget&key={encoded}").json()
        after = client.get(f"/?key={encoded}").json()

    assert put == read == {"value": "v\x00" + key, "plain": key}
    assert forgotten == after == {"value": None, "plain": key}


def test_a_key_with_a_lone_surrogate_is_refused_at_put_on_every_driver(
    session_options: dict[str, Any],
) -> None:
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/")
    async def index(c: Any) -> str:
        with pytest.raises(ValueError, match=r"Session key '\\ud800' holds a lone surrogate"):
            c.get("session").put("\ud800", 1)
        c.get("session").put("fine", "\ud800")
        return "refused"

    with TestClient(app) as client:
        assert client.get("/").text == "refused"


def test_a_user_id_with_a_lone_surrogate_is_refused_at_login_on_every_driver(
    session_options: dict[str, Any],
) -> None:
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/")
    async def index(c: Any) -> Any:
        c.get("session").put("cart", ["tea"])
        with pytest.raises(ValueError, match="user id '\\\\ud800 u' holds a lone surrogate"):
            await login(c, "\ud800 u")
        return {"user": c.get("session").get("user_id"), "cart": c.get("session").get("cart")}

    with TestClient(app) as client:
        assert client.get("/").json() == {"user": None, "cart": ["tea"]}


def test_unstorable_value_answers_500(session_options: dict[str, Any]) -> None:
    app = MicroWeb()
    app.use(session(**session_options))

    @app.get("/")
    async def index(c: Any) -> str:
        c.get("session").put("thing", object())
        return "never"

    with TestClient(app) as client:
        assert client.get("/").status_code == 500


def test_idle_session_expires_after_lifetime(
    make_client: Callable[..., TestClient], session_options: dict[str, Any]
) -> None:
    client = make_client(**session_options, lifetime=0.02)  # 1.2 s
    client.get("/set/a/1")
    time.sleep(1.5)
    assert client.get("/get/a").json() == {"value": None}


def test_activity_keeps_an_idle_session_alive(
    make_client: Callable[..., TestClient], session_options: dict[str, Any]
) -> None:
    client = make_client(**session_options, lifetime=0.02)  # 1.2 s
    client.get("/set/a/1")
    for _ in range(3):
        time.sleep(0.6)
        assert client.get("/get/a").json() == {"value": "1"}


def test_absolute_lifetime_ends_an_active_session(
    make_client: Callable[..., TestClient], session_options: dict[str, Any]
) -> None:
    client = make_client(**session_options, absolute_lifetime=0.02)  # 1.2 s
    client.get("/set/a/1")
    time.sleep(0.7)
    assert client.get("/get/a").json() == {"value": "1"}
    time.sleep(0.7)
    assert client.get("/get/a").json() == {"value": None}


def test_regenerate_changes_the_id_and_keeps_the_data(client: TestClient) -> None:
    client.get("/set/a/1")
    old_id = client.get("/id").json()["id"]
    old_token = client.get("/token").json()["token"]
    client.get("/regenerate")
    assert client.get("/id").json()["id"] != old_id
    assert client.get("/get/a").json() == {"value": "1"}
    assert client.get("/token").json()["token"] != old_token


def test_invalidate_changes_the_id_and_drops_the_data(client: TestClient) -> None:
    client.get("/set/a/1")
    old_id = client.get("/id").json()["id"]
    response = client.get("/invalidate")
    [cookie] = set_cookies(response)
    assert "Max-Age=0" in cookie  # nothing left to store: the cookie is removed
    assert client.get("/get/a").json() == {"value": None}
    client.get("/set/b/2")
    assert client.get("/id").json()["id"] != old_id


def test_tampered_cookie_gives_a_new_empty_session(client: TestClient) -> None:
    client.get("/set/a/1")
    value = client.cookies.get(COOKIE)
    assert value is not None
    client.cookies.set(COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/get/a").json() == {"value": None}


@pytest.mark.parametrize("value", ["", "garbage", "../../etc/passwd", "a" * 5000])
def test_malformed_cookie_gives_a_new_empty_session(client: TestClient, value: str) -> None:
    client.cookies.set(COOKIE, value)
    response = client.get("/set/a/1")
    assert response.status_code == 200
    assert client.cookies.get(COOKIE) != value
    assert client.get("/get/a").json() == {"value": "1"}


def test_cookie_over_4_kb_is_a_logged_500_naming_the_size(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(driver="cookie", secret="s")
    response = client.get("/big/3000")  # 6000 hex characters
    assert response.status_code == 500
    assert set_cookies(response) == []
    assert any(
        "bytes, over the 4096-byte limit" in r.getMessage() + str(r.exc_info)
        for r in caplog.records
    )


def test_cookie_driver_signed_with_an_old_key_still_verifies(
    make_client: Callable[..., TestClient],
) -> None:
    old = make_client(driver="cookie", secret="old-key")
    old.get("/set/a/1")
    new = make_client(driver="cookie", secret=["new-key", "old-key"])
    new.cookies.set(COOKIE, old.cookies.get(COOKIE) or "")
    assert new.get("/get/a").json() == {"value": "1"}


def test_host_prefixed_cookie_name_works(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cookie="__Host-session")
    response = client.get("/set/a/1")
    assert response.headers.get("set-cookie", "").startswith("__Host-session=")
    assert client.get("/get/a").json() == {"value": "1"}


def test_unknown_session_id_is_never_adopted(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    planted = new_id()
    client.cookies.set(COOKIE, planted)
    client.get("/set/a/1")
    assert client.cookies.get(COOKIE) != planted
    assert client.get("/id").json()["id"] != planted
