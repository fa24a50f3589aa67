"""Cookies: Set-Cookie attributes, several cookies, deletion, validation, round trips."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest


def _set_cookie_of(app, client, **kwargs):
    @app.get("/set")
    async def set_it(c):
        c.set_cookie("name", "value", **kwargs)
        return "ok"

    return client.get("/set").headers.getall("set-cookie")


def _attributes(header):
    return [part.strip() for part in header.split(";")]


def test_set_cookie_defaults_to_path_root_and_samesite_lax(app, client):
    (header,) = _set_cookie_of(app, client)

    assert _attributes(header)[0] == "name=value"
    assert set(_attributes(header)[1:]) == {"Path=/", "SameSite=Lax"}


def test_set_cookie_max_age(app, client):
    (header,) = _set_cookie_of(app, client, max_age=3600)

    assert "Max-Age=3600" in _attributes(header)


def test_set_cookie_expires_from_a_datetime(app, client):
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    (header,) = _set_cookie_of(app, client, expires=when)

    assert "Expires=Wed, 02 Jan 2030 03:04:05 GMT" in _attributes(header)


def test_set_cookie_expires_from_a_unix_time(app, client):
    (header,) = _set_cookie_of(app, client, expires=0)

    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in _attributes(header)


def test_set_cookie_path_and_domain(app, client):
    (header,) = _set_cookie_of(app, client, path="/account", domain="example.com")

    attributes = _attributes(header)
    assert "Path=/account" in attributes
    assert "Domain=example.com" in attributes


def test_set_cookie_secure_and_http_only(app, client):
    (header,) = _set_cookie_of(app, client, secure=True, http_only=True)

    attributes = _attributes(header)
    assert "Secure" in attributes
    assert "HttpOnly" in attributes


@pytest.mark.parametrize(("given", "sent"), [("strict", "Strict"), ("Lax", "Lax")])
def test_set_cookie_same_site(app, client, given, sent):
    (header,) = _set_cookie_of(app, client, same_site=given)

    assert f"SameSite={sent}" in _attributes(header)


def test_set_cookie_same_site_none_with_secure(app, client):
    (header,) = _set_cookie_of(app, client, same_site="none", secure=True)

    assert "SameSite=None" in _attributes(header)


def test_set_cookie_without_same_site(app, client):
    (header,) = _set_cookie_of(app, client, same_site=None)

    assert not any(a.startswith("SameSite") for a in _attributes(header))


def test_set_cookie_partitioned(app, client):
    (header,) = _set_cookie_of(app, client, partitioned=True, secure=True)

    assert "Partitioned" in _attributes(header)


def test_several_set_cookie_headers_in_one_response(app, client):
    @app.get("/")
    async def handler(c):
        c.set_cookie("a", "1")
        c.set_cookie("b", "2", http_only=True)
        return c.text("ok")

    response = client.get("/")

    headers = response.headers.getall("set-cookie")
    assert [h.split(";")[0] for h in headers] == ["a=1", "b=2"]
    assert response.cookies == {"a": "1", "b": "2"}


def test_set_cookie_in_middleware_after_next_is_sent(app, client):
    async def mw(c, next):
        await next()
        c.set_cookie("late", "yes")

    app.use(mw)
    app.get("/", lambda c: "ok")

    assert client.get("/").cookies == {"late": "yes"}


def test_set_cookie_in_middleware_before_next_and_in_handler_are_both_sent(app, client):
    async def mw(c, next):
        c.set_cookie("early", "1")
        await next()

    app.use(mw)

    @app.get("/both")
    async def handler(c):
        c.set_cookie("inner", "2")
        return {"ok": True}

    response = client.get("/both")

    assert response.cookies == {"early": "1", "inner": "2"}
    assert len(response.headers.getall("set-cookie")) == 2


def test_delete_cookie_expires_it(app, client):
    app.get("/", lambda c: c.delete_cookie("gone") or "ok")

    (header,) = client.get("/").headers.getall("set-cookie")

    attributes = _attributes(header)
    assert attributes[0] == "gone="
    assert "Max-Age=0" in attributes
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in attributes
    assert "Path=/" in attributes


def test_delete_cookie_removes_it_from_the_client_jar(app, client):
    app.get("/login", lambda c: c.set_cookie("token", "abc") or "in")
    app.get("/logout", lambda c: c.delete_cookie("token") or "out")
    app.get("/whoami", lambda c: {"token": c.req.cookie("token")})

    client.get("/login")
    assert client.get("/whoami").json() == {"token": "abc"}

    client.get("/logout")
    assert client.get("/whoami").json() == {"token": None}


def test_delete_cookie_uses_the_given_path_and_domain(app, client):
    app.get("/", lambda c: c.delete_cookie("x", path="/app", domain="example.com") or "ok")

    attributes = _attributes(client.get("/").headers["set-cookie"])

    assert "Path=/app" in attributes
    assert "Domain=example.com" in attributes


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "caf\u00e9", "a,b", 'a"b'])
def test_invalid_cookie_name_is_a_value_error(app, client, name):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.set_cookie(name, "v")
        return "checked"

    response = client.get("/")

    assert response.text == "checked"
    assert "set-cookie" not in response.headers


def test_invalid_cookie_name_raised_in_a_handler_is_a_logged_500(app, client, caplog):
    app.get("/", lambda c: c.set_cookie("bad name", "v") or "never")

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = client.get("/")

    assert response.status_code == 500
    assert "bad name" not in response.text
    assert "Invalid cookie name" in caplog.text
    assert "'bad name'" in caplog.text


def test_same_site_none_without_secure_is_a_value_error(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError, match="secure"):
            c.set_cookie("x", "v", same_site="none")
        return "checked"

    assert client.get("/").text == "checked"


def test_unknown_same_site_is_a_value_error(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.set_cookie("x", "v", same_site="sometimes")
        return "checked"

    assert client.get("/").text == "checked"


def test_partitioned_without_secure_is_a_value_error(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.set_cookie("x", "v", partitioned=True)
        return "checked"

    assert client.get("/").text == "checked"


def test_attribute_injection_through_path_is_refused(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.set_cookie("x", "v", path="/; Domain=evil.example")
        with pytest.raises(ValueError):
            c.set_cookie("x", "v", domain="example.com\r\nX-Evil: 1")
        return "checked"

    assert client.get("/").text == "checked"


@pytest.mark.parametrize(
    "value", ["a b", "x;y", "semi; colon=1", 'quote"d', "back\\slash", "100%", "caf\u00e9 \u2713"]
)
def test_cookie_value_round_trips_through_the_client_jar(app, client, value):
    app.get("/set", lambda c: c.set_cookie("v", value) or "set")
    app.get("/get", lambda c: {"v": c.req.cookie("v")})

    client.get("/set")

    assert client.get("/get").json() == {"v": value}


def test_set_cookie_header_value_is_a_single_cookie_octet_string(app, client):
    app.get("/", lambda c: c.set_cookie("v", "a b;c") or "ok")

    pair = client.get("/").headers["set-cookie"].split(";")[0]

    assert pair.startswith("v=")
    assert not any(ch in pair[2:] for ch in ' ;,"\\')


def test_host_prefix_cookie_with_secure_root_path_and_no_domain_is_accepted(app, client):
    app.get("/", lambda c: c.set_cookie("__Host-id", "1", secure=True) or "ok")

    attributes = _attributes(client.get("/").headers["set-cookie"])

    assert attributes[0] == "__Host-id=1"
    assert "Secure" in attributes
    assert "Path=/" in attributes
    assert not any(a.startswith("Domain") for a in attributes)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secure": False},
        {"secure": True, "path": "/app"},
        {"secure": True, "domain": "example.com"},
    ],
)
def test_host_prefix_cookie_breaking_its_rules_is_a_value_error(app, client, kwargs):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError, match="__Host-id"):
            c.set_cookie("__Host-id", "1", **kwargs)
        return "checked"

    assert client.get("/").text == "checked"


def test_secure_prefix_cookie_requires_secure(app, client):
    @app.get("/")
    async def handler(c):
        with pytest.raises(ValueError):
            c.set_cookie("__Secure-id", "1")
        c.set_cookie("__Secure-id", "1", secure=True)
        return "checked"

    response = client.get("/")

    assert response.text == "checked"
    assert "Secure" in _attributes(response.headers["set-cookie"])


def test_delete_host_prefix_cookie_is_valid(app, client):
    app.get("/", lambda c: c.delete_cookie("__Host-id") or "ok")

    response = client.get("/")

    assert response.status_code == 200
    assert "Secure" in _attributes(response.headers["set-cookie"])


@pytest.mark.parametrize(
    ("header", "seen"),
    [
        ("=__Host-sid=forged", None),
        ("=__Host-sid=forged; __Host-sid=real", "real"),
        (" = __Host-sid=forged ;__Host-sid=real", "real"),
        ("=__Secure-sid=forged", None),
        ("__Host-sid=real; =__Host-sid=forged", "real"),
    ],
)
def test_a_nameless_cookie_never_passes_for_a_host_prefixed_one(app, client, header, seen):
    # Werkzeug CVE-2023-23934: `=__Host-sid=forged` (a nameless cookie a sibling subdomain
    # may set in some browsers) was read as the cookie `__Host-sid`.
    @app.get("/read")
    async def read(c):
        return {
            "sid": c.req.cookie("__Host-sid") or c.req.cookie("__Secure-sid"),
            "all": c.req.cookie(),
        }

    response = client.get("/read", headers={"cookie": header})

    assert response.json()["sid"] == seen
    assert "" not in response.json()["all"]


def test_a_nameless_cookie_is_never_taken_for_a_host_prefixed_session():
    from microweb import MicroWeb, session
    from microweb.testing import TestClient

    app = MicroWeb()
    app.use(session(cookie="__Host-sid"))
    app.get("/start", lambda c: c.get("session").put("user_id", "ann") or c.get("session").id)
    app.get("/who", lambda c: {"user": c.get("session").get("user_id")})
    with TestClient(app) as ann:
        sid = ann.get("/start").text
        other = TestClient(app)
        forged = other.get("/who", headers={"cookie": f"=__Host-sid={sid}"})
        genuine = other.get("/who", headers={"cookie": f"__Host-sid={sid}"})

    assert forged.json() == {"user": None}
    assert genuine.json() == {"user": "ann"}
