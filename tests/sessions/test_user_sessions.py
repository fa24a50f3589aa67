"""user_sessions() and logout(c, session=ref) on every server-side driver (ASVS V3.3.4)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pytest

from microweb import MicroWeb, login, logout, user_sessions
from microweb.testing import TestClient

from ..apps.login_app import login_app
from .conftest import REDIS_URL_FIXTURES, SERVER_DRIVERS, sql_options


@pytest.fixture(params=SERVER_DRIVERS)
def options(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    if request.param == "memory":
        return {"driver": "memory"}
    if request.param == "file":
        return {"driver": "file", "directory": str(tmp_path / "sessions")}
    if request.param in ("postgres", "sqlite"):
        return sql_options(request.param, request, tmp_path)
    return {
        "driver": "redis",
        "url": request.getfixturevalue(REDIS_URL_FIXTURES[request.param]),
        "prefix": request.getfixturevalue("redis_prefix"),
    }


def make_app(**options: Any) -> MicroWeb:
    app = login_app(**options)

    @app.get("/sessions")
    async def listing(c):  # type: ignore[no-untyped-def]
        return [
            {
                **item,
                "created_at": item["created_at"].isoformat(),
                "last_seen": item["last_seen"].isoformat(),
            }
            for item in await user_sessions(c)
        ]

    @app.post("/revoke/:ref")
    async def revoke(c):  # type: ignore[no-untyped-def]
        await logout(c, session=c.req.param("ref"))
        return "done"

    @app.post("/login")
    async def login_as(c):  # type: ignore[no-untyped-def]
        await login(c, c.req.query("user"))
        return "in"

    @app.post("/logout/everywhere")
    async def logout_everywhere(c):  # type: ignore[no-untyped-def]
        await logout(c, everywhere=True)
        return "out"

    return app


def test_the_list_shows_each_device_newest_first_with_this_one_marked(
    options: dict[str, Any],
) -> None:
    app = make_app(**options)
    with TestClient(app) as laptop, closing(TestClient(app)) as phone:
        laptop.post("/login/ann", headers={"user-agent": "Laptop/1.0"})
        phone.post("/login/ann", headers={"user-agent": "Phone/2.0"})
        listed = phone.get("/sessions").json()
    assert [item["user_agent"] for item in listed] == ["Phone/2.0", "Laptop/1.0"]
    assert [item["current"] for item in listed] == [True, False]
    now = datetime.now(UTC)
    for item in listed:
        assert abs((now - datetime.fromisoformat(item["created_at"])).total_seconds()) < 60
        assert datetime.fromisoformat(item["last_seen"]) >= datetime.fromisoformat(
            item["created_at"]
        )
        assert len(item["ref"]) >= 16


def test_a_ref_is_never_the_session_id(options: dict[str, Any]) -> None:
    app = make_app(**options)
    with TestClient(app) as client:
        client.post("/login/ann")
        cookie = client.cookies.header_for("https://testserver/") or ""
        [item] = client.get("/sessions").json()
    session_id = cookie.split("=", 1)[1]
    assert item["ref"] not in session_id
    assert session_id not in str(item)


def test_logout_with_a_ref_ends_that_device_only(options: dict[str, Any]) -> None:
    app = make_app(**options)
    with TestClient(app) as laptop, closing(TestClient(app)) as phone:
        laptop.post("/login/ann")
        phone.post("/login/ann")
        [other] = [i for i in laptop.get("/sessions").json() if not i["current"]]
        assert laptop.post(f"/revoke/{other['ref']}").text == "done"
        assert phone.get("/me").json() == {"user": None}
        assert laptop.get("/me").json() == {"user": "ann"}
        assert [i["current"] for i in laptop.get("/sessions").json()] == [True]


def test_revoking_the_current_ref_logs_this_device_out(options: dict[str, Any]) -> None:
    app = make_app(**options)
    with TestClient(app) as client:
        client.post("/login/ann")
        [mine] = client.get("/sessions").json()
        client.post(f"/revoke/{mine['ref']}")
        assert client.get("/me").json() == {"user": None}


def test_another_users_ref_ends_nothing(options: dict[str, Any]) -> None:
    app = make_app(**options)
    with TestClient(app) as ann, closing(TestClient(app)) as bob:
        ann.post("/login/ann")
        bob.post("/login/bob")
        [bobs] = bob.get("/sessions").json()
        ann.post(f"/revoke/{bobs['ref']}")
        ann.post("/revoke/not-a-ref")
        assert bob.get("/me").json() == {"user": "bob"}
        assert ann.get("/me").json() == {"user": "ann"}


@pytest.mark.parametrize("ref", ["%C3%A9", "%E2%82%AC" * 20, "%F0%9F%98%80"])
def test_a_ref_that_is_not_ascii_ends_nothing(options: dict[str, Any], ref: str) -> None:
    app = make_app(**options)
    with TestClient(app) as ann:
        ann.post("/login/ann")

        revoked = ann.post(f"/revoke/{ref}")

        assert (revoked.status_code, revoked.text) == (200, "done")
        assert ann.get("/me").json() == {"user": "ann"}


@pytest.mark.parametrize("user", ["a\x00b", "\x01", "\x01" + "0", "\u2028\ufeff"])
def test_a_user_id_holding_nul_or_control_characters_is_listed_and_logged_out_everywhere(
    options: dict[str, Any], user: str
) -> None:
    app = make_app(**options)
    with TestClient(app) as laptop, closing(TestClient(app)) as phone:
        signed_in = [
            device.post("/login", params={"user": user}).text for device in (laptop, phone)
        ]
        listed = phone.get("/sessions").json()
        me = laptop.get("/me").json()
        phone.post("/logout/everywhere")
        after = laptop.get("/me").json()

    assert signed_in == ["in", "in"]
    assert len(listed) == 2
    assert me == {"user": user}
    assert after == {"user": None}


def test_nobody_signed_in_lists_nothing(options: dict[str, Any]) -> None:
    with TestClient(make_app(**options)) as client:
        assert client.get("/sessions").json() == []


def test_the_cookie_driver_cannot_list_sessions() -> None:
    app = make_app(driver="cookie", secret="s" * 32)
    with TestClient(app) as client:
        client.post("/login/ann")
        assert client.get("/sessions").status_code == 500
