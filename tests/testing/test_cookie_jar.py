"""The client's cookie jar keeps Secure cookies where browsers do: on https, and on plain
http to the machine itself (localhost, 127.0.0.1, [::1])."""

from __future__ import annotations

import pytest

from microweb import MicroWeb, csrf, login, session
from microweb.context import Context
from microweb.testing import TestClient


def cookie_app() -> MicroWeb:
    app = MicroWeb()
    app.get("/login", lambda c: c.set_cookie("sid", "s1", secure=True, http_only=True) or "in")
    app.get("/me", lambda c: {"sid": c.req.cookie("sid")})
    return app


@pytest.mark.parametrize(
    "base_url",
    [
        "https://testserver",
        "http://localhost",
        "http://localhost:8000",
        "http://app.localhost:8000",
        "http://127.0.0.1:8000",
        "http://127.0.0.2",
        "http://[::1]:8000",
    ],
)
def test_secure_cookies_round_trip_where_browsers_keep_them(base_url: str) -> None:
    with TestClient(cookie_app(), base_url=base_url) as client:
        client.get("/login")

        assert client.get("/me").json() == {"sid": "s1"}
        assert client.cookies.get("sid") == "s1"


@pytest.mark.parametrize("base_url", ["http://testserver", "http://192.168.1.10", "http://[::2]"])
def test_a_secure_cookie_set_over_plain_http_elsewhere_is_dropped(base_url: str) -> None:
    with TestClient(cookie_app(), base_url=base_url) as client:
        client.get("/login")

        assert client.get("/me").json() == {"sid": None}
        assert "sid" not in client.cookies


def test_a_secure_cookie_from_https_is_not_sent_to_plain_http_on_the_same_host() -> None:
    with TestClient(cookie_app()) as client:
        client.get("/login")

        assert client.get("http://testserver/me").json() == {"sid": None}
        assert client.get("https://testserver/me").json() == {"sid": "s1"}


def test_sessions_and_csrf_work_on_http_localhost_with_the_default_secure_cookie() -> None:
    app = MicroWeb()
    app.use(session(), csrf())

    @app.post("/login")
    async def sign_in(c: Context) -> str:
        await login(c, "ann")
        return "signed in"

    @app.post("/notes")
    async def add_note(c: Context) -> dict[str, object]:
        return {"user": c.get("session").get("user_id")}

    with TestClient(app, base_url="http://localhost:8000") as client:
        signed_in = client.post("/login", headers={"X-CSRF-Token": client.csrf_token()})
        response = client.post("/notes", headers={"X-CSRF-Token": client.csrf_token()})

    assert signed_in.status_code == 200
    assert (response.status_code, response.json()) == (200, {"user": "ann"})


def test_cookies_set_by_hand_go_to_the_clients_own_host() -> None:
    with TestClient(cookie_app(), base_url="http://localhost:8000") as client:
        client.cookies.set("sid", "by-hand")

        assert client.get("/me").json() == {"sid": "by-hand"}
