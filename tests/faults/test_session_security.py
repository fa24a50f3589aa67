"""OWASP ASVS 4.0 V3 items docs/security.md found without a test of their own.

- V3.1.1: a session id in the URL is never used, and never appears in one.
- V3.2.2 / V3.2.4: ids are 256 bits from `secrets`, with no structure.
- V3.3.1 / V3.3.2: idle and absolute timeouts hold on the server: a copy of
  the cookie replayed after the timeout (ignoring its Max-Age, as an attacker
  would) is refused, on every driver.
- V3.3.3: after a password change the app can end every other session of the
  user and keep this one (`logout(c, everywhere=True)` then `login`).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microweb import MicroWeb, login, logout, require_auth, session
from microweb.context import Context
from microweb.testing import TestClient
from tests.browsers import Browser
from tests.conftest import options_for

COOKIE = "microweb_session"


def build_app(**options: Any) -> MicroWeb:
    app = MicroWeb()
    app.use(session(**options))

    @app.post("/login/:user")
    async def do_login(c: Context) -> Any:
        await login(c, c.req.param("user"))
        return c.redirect("/me", 303)

    @app.get("/me", require_auth())
    async def me(c: Context) -> Any:
        return {"user": c.get("session").get("user_id")}

    @app.post("/password")
    async def change_password(c: Context) -> Any:
        user = c.get("session").get("user_id")
        await logout(c, everywhere=True)  # every session of the user, this one too
        await login(c, user)  # then this browser only, under a new id
        return {"ok": True}

    return app


@pytest.fixture(params=["memory", "cookie", "file", "redis", "postgres", "sqlite"])
def driver_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return options_for(request.param, request, tmp_path)


@pytest.fixture
def server_driver_options(driver_options: dict[str, Any]) -> dict[str, Any]:
    if driver_options["driver"] == "cookie":
        pytest.skip("the cookie driver keeps no sessions on the server to end")
    return driver_options


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app()) as client:
        yield client


# -- V3.1.1 --------------------------------------------------------------------


def test_session_id_in_the_url_is_never_used_nor_sent(client: TestClient) -> None:
    user = Browser(client)
    response = user.request("POST", "/login/alice")
    sid = user.jar.get(COOKIE)
    assert sid and response.status_code == 303
    # Nothing the server sends back but the Set-Cookie header names the id.
    assert sid not in response.headers["location"] and sid not in response.text
    me = user.request("GET", "/me")
    assert me.json() == {"user": "alice"} and sid not in me.text

    thief = Browser(client)  # no cookie, the id in the URL instead
    for path in (f"/me?{COOKIE}={sid}", f"/me?session={sid}", f"/me;{COOKIE}={sid}"):
        assert thief.request("GET", path).status_code in (401, 404), path
    assert COOKIE not in thief.jar


# -- V3.2.2, V3.2.4 --------------------------------------------------------------


def test_session_ids_are_256_random_bits_from_secrets(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    token_urlsafe = secrets.token_urlsafe

    def counting(nbytes: int | None = None) -> str:
        value = token_urlsafe(nbytes)
        drawn.append(value)
        return value

    monkeypatch.setattr(secrets, "token_urlsafe", counting)  # what microweb's new_id calls
    ids = []
    for i in range(600):
        browser = Browser(client)
        browser.request("POST", f"/login/user{i}")
        sid = browser.jar.get(COOKIE)
        assert sid is not None
        ids.append(sid)

    assert set(ids) <= set(drawn), "a session id did not come from secrets.token_urlsafe"
    assert len(set(ids)) == len(ids)
    raw = [base64.urlsafe_b64decode(sid + "=") for sid in ids]
    assert {len(r) for r in raw} == {32}  # 256 bits (ASVS asks for at least 64)
    # No fixed or biased bit: each of the 256 bit positions is set in about half the ids
    # (600 samples: the band is more than 5 standard deviations wide).
    for bit in range(256):
        ones = sum((r[bit // 8] >> (bit % 8)) & 1 for r in raw)
        assert 0.38 < ones / len(raw) < 0.62, f"bit {bit} is set in {ones} of {len(raw)} ids"


# -- V3.3.1, V3.3.2 --------------------------------------------------------------


def test_a_copy_of_the_cookie_replayed_after_the_idle_timeout_is_refused(
    driver_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**driver_options, lifetime=0.015)) as client:  # 0.9 s idle
        user = Browser(client)
        user.request("POST", "/login/alice")
        copy = user.jar.get(COOKIE)
        assert copy is not None
        assert Browser(client).replay("/me", copy).status_code == 200
        time.sleep(1.3)
        assert Browser(client).replay("/me", copy).status_code == 401


def test_a_busy_session_ends_at_the_absolute_timeout_even_when_replayed(
    driver_options: dict[str, Any],
) -> None:
    app = build_app(**driver_options, lifetime=60, absolute_lifetime=0.015)  # 0.9 s
    with TestClient(app) as client:
        user = Browser(client)
        start = time.monotonic()
        user.request("POST", "/login/alice")
        copy = user.jar.get(COOKIE)
        assert copy is not None
        attacker = Browser(client)
        statuses: list[tuple[float, float, int]] = []  # sent, answered, status
        while (sent := time.monotonic() - start) < 1.3:
            code = attacker.replay("/me", copy).status_code
            statuses.append((sent, time.monotonic() - start, code))
            time.sleep(0.1)  # activity all along: the idle timeout never strikes
        assert all(code == 200 for _, answered, code in statuses if answered < 0.7), statuses
        assert all(code == 401 for sent, _, code in statuses if sent > 1.0), statuses
        assert user.request("GET", "/me").status_code == 401


# -- V3.3.3 --------------------------------------------------------------------


def test_password_change_ends_every_other_session_of_the_user_and_keeps_this_one(
    server_driver_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_driver_options)) as client:
        laptop, phone, tablet, colleague = (Browser(client) for _ in range(4))
        for browser, user in ((laptop, "alice"), (phone, "alice"), (tablet, "alice")):
            browser.request("POST", f"/login/{user}")
        colleague.request("POST", "/login/bob")
        before = laptop.jar.get(COOKIE)

        assert laptop.request("POST", "/password").json() == {"ok": True}

        assert laptop.jar.get(COOKIE) != before
        assert laptop.request("GET", "/me").json() == {"user": "alice"}
        assert phone.request("GET", "/me").status_code == 401
        assert tablet.request("GET", "/me").status_code == 401
        assert colleague.request("GET", "/me").json() == {"user": "bob"}
        assert Browser(client).replay("/me", before or "").status_code == 401
