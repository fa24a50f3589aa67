"""The debug page: `MicroWeb(debug=True)` or MICROWEB_DEBUG, for loopback requests only."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import secrets
import socket

import pytest

from microweb import MicroWeb, session
from microweb.debug import served_on_loopback
from microweb.middleware import secure_headers
from microweb.testing import TestClient
from microweb.testing.driver import call_app

from .servers import raw_request, serve

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def failing_app(**options):
    app = MicroWeb(**options)

    @app.get("/orders/:id")
    async def show_order(c):
        total = 0  # noqa: F841 (a line the page shows around the raise)
        raise LookupError(f"no order {c.req.param('id')}")

    return app


def get(app, path, headers=None, base_url="https://testserver"):
    with TestClient(app, base_url=base_url) as client:
        return client.get(path, headers=headers)


# -- the error page ---------------------------------------------------------------------


def test_an_unhandled_error_shows_the_exception_traceback_and_source(caplog):
    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = get(failing_app(debug=True), "/orders/7", HTML)

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "LookupError" in page
    assert "no order 7" in page
    assert "show_order" in page and __file__ in page
    # The line that raised, and the lines around it.
    assert "raise LookupError(f&quot;no order {c.req.param(&#x27;id&#x27;)}&quot;)" in page
    assert "total = 0" in page
    assert "async def show_order(c):" in page
    assert "GET /orders/7" in page
    # Still logged, as with debug off.
    assert "no order 7" in caplog.text


def test_json_clients_get_the_same_facts_as_json():
    response = get(failing_app(debug=True), "/orders/7?page=2", JSON)

    assert response.status_code == 500
    report = response.json()
    assert (report["error"], report["status"]) == ("Internal Server Error", 500)
    error = report["exceptions"][0]
    assert (error["type"], error["message"]) == ("LookupError", "no order 7")
    frame = error["frames"][0]  # most recent call first
    assert (frame["file"], frame["function"], frame["app"]) == (__file__, "show_order", True)
    raising = [line["code"] for line in frame["source"] if line["line"] == frame["line"]]
    assert raising == ["        raise LookupError(f\"no order {c.req.param('id')}\")"]
    assert any("total = 0" in line["code"] for line in frame["source"])
    request = report["request"]
    assert (request["method"], request["path"]) == ("GET", "/orders/7")
    assert request["query"] == [["page", "2"]]


def test_other_clients_get_a_plain_text_traceback():
    response = get(failing_app(debug=True), "/orders/7")

    assert response.headers["content-type"].startswith("text/plain")
    assert "LookupError: no order 7" in response.text
    assert "Traceback (most recent call first):" in response.text
    assert f'File "{__file__}"' in response.text
    assert "Request: GET /orders/7" in response.text


def test_the_causes_of_an_error_are_shown_after_it():
    app = MicroWeb(debug=True)

    @app.get("/")
    async def checkout(c):
        try:
            {}["card"]
        except KeyError as err:
            raise RuntimeError("payment failed") from err

    report = get(app, "/", JSON).json()

    kinds = [(e["type"], e["message"], e["relation"]) for e in report["exceptions"]]
    assert kinds == [("RuntimeError", "payment failed", "raised"), ("KeyError", "'card'", "cause")]
    page = get(app, "/", HTML).text
    assert page.index("payment failed") < page.index("The cause of RuntimeError")


def test_the_page_escapes_what_the_request_and_the_error_carry():
    app = MicroWeb(debug=True)

    @app.get("/*")
    async def echo(c):
        raise ValueError(f"<script>alert('{c.req.query('q')}')</script>")

    response = get(
        app,
        "/<img src=x onerror=alert(1)>?q=<marquee>bold</marquee>",
        {**HTML, "X-Note": "</td><script>alert(2)</script>"},
    )

    page = response.text
    assert "<script>" not in page
    assert "<img" not in page
    assert "<marquee>" not in page
    assert (
        "&lt;script&gt;alert(&#x27;&lt;marquee&gt;bold&lt;/marquee&gt;&#x27;)&lt;/script&gt;"
        in page
    )
    assert "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_the_page_brings_its_own_policy_which_secure_headers_keeps():
    app = MicroWeb(debug=True)
    app.use(secure_headers(content_security_policy={"default-src": ["'self'"]}))

    @app.get("/")
    async def handler(c):
        raise RuntimeError("styled")

    response = get(app, "/", HTML)

    policy = response.headers["content-security-policy"]
    style = re.search(r"<style>(.*?)</style>", response.text, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy.startswith("default-src 'none'; ")
    assert f"style-src 'sha256-{digest}'" in policy  # the browser applies the style
    assert "script-src" not in policy  # and runs no script at all
    assert response.headers["x-content-type-options"] == "nosniff"  # secure_headers' own


# -- what it never shows ----------------------------------------------------------------


def test_frame_locals_and_the_session_secret_are_never_shown():
    secret = secrets.token_hex(16)
    keys = []
    app = MicroWeb(debug=True)
    app.use(session(driver="cookie", secret=secret))

    @app.get("/")
    async def handler(c):
        api_key = secrets.token_hex(16)
        keys.append(api_key)
        c.set("key_in_vars", api_key)
        c.get("session")["api_key"] = api_key
        raise RuntimeError("failed after reading the key")

    with TestClient(app) as client:
        client.get("/", headers=HTML)  # a session cookie to send back
        answers = [client.get("/", headers=accept) for accept in (HTML, JSON, {})]

    assert "api_key = secrets.token_hex(16)" in answers[0].text  # the source is there...
    for response in answers:
        assert response.status_code == 500
        assert "failed after reading the key" in response.text
        # ...but not the local's value, the session's data, nor the session secret.
        assert secret not in response.text
        assert not any(key in response.text for key in keys)


def test_cookie_values_authorization_and_secret_looking_parameters_are_masked():
    response = get(
        failing_app(debug=True),
        "/orders/7?token=tok-123&api_key=key-456&page=2",
        {
            **JSON,
            "Cookie": "microweb_session=sess-789; theme=dark-000",
            "Authorization": "Bearer bearer-abc",
            "X-Api-Key": "header-key-def",
            "X-CSRF-Token": "csrf-ghi",
            "User-Agent": "pytest-agent",
        },
    )

    text = response.text
    for value in ("tok-123", "key-456", "sess-789", "dark-000", "bearer-abc", "header-key-def"):
        assert value not in text
    assert "csrf-ghi" not in text
    request = response.json()["request"]
    headers = dict(request["headers"])
    assert headers["cookie"] == "microweb_session=[masked]; theme=[masked]"
    assert headers["authorization"] == "Bearer [masked]"
    assert headers["x-api-key"] == "[masked]"
    assert headers["user-agent"] == "pytest-agent"
    assert request["query"] == [["token", "[masked]"], ["api_key", "[masked]"], ["page", "2"]]


# -- off, on, and who sees it -----------------------------------------------------------


def test_with_debug_off_a_500_shows_nothing_of_the_error():
    for accept in (HTML, JSON, {}):
        response = get(failing_app(), "/orders/7", accept)
        assert response.status_code == 500
        assert "no order 7" not in response.text
        assert "LookupError" not in response.text
        assert "show_order" not in response.text


def test_microweb_debug_turns_it_on_and_an_explicit_argument_wins(monkeypatch):
    monkeypatch.setenv("MICROWEB_DEBUG", "1")
    assert "no order 7" in get(failing_app(), "/orders/7").text
    assert "no order 7" not in get(failing_app(debug=False), "/orders/7").text
    monkeypatch.setenv("MICROWEB_DEBUG", "0")
    assert "no order 7" not in get(failing_app(), "/orders/7").text
    assert "no order 7" in get(failing_app(debug=True), "/orders/7").text


def test_a_bad_debug_setting_is_refused_when_the_app_is_made(monkeypatch):
    monkeypatch.setenv("MICROWEB_DEBUG", "maybe")
    with pytest.raises(ValueError, match="MICROWEB_DEBUG must be 1, 0 or force, got 'maybe'"):
        MicroWeb()
    with pytest.raises(
        ValueError, match=r"MicroWeb\(debug=\.\.\.\) must be True, False or 'force', got 'yes'"
    ):
        MicroWeb(debug="yes")


def test_a_request_on_a_non_loopback_address_turns_the_page_off_and_says_why(caplog):
    app = failing_app(debug=True)

    with caplog.at_level(logging.WARNING, logger="microweb"):
        outside = get(app, "/orders/7", HTML, base_url="http://10.1.2.3:8000")
        later = get(app, "/orders/7", HTML, base_url="http://127.0.0.1:8000")
        get(app, "/orders/7", HTML, base_url="http://10.1.2.3:8000")

    assert outside.status_code == 500
    assert "no order 7" not in outside.text
    # From then on no client sees it: the app is reachable from elsewhere.
    assert "no order 7" not in later.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "10.1.2.3:8000, not a loopback address" in warnings[0]
    assert "MICROWEB_DEBUG=force" in warnings[0]


def test_a_request_through_a_proxy_turns_the_page_off(caplog):
    app = failing_app(debug=True)

    with caplog.at_level(logging.WARNING, logger="microweb"):
        proxied = get(app, "/orders/7", {**HTML, "X-Forwarded-For": "203.0.113.9"})
        direct = get(app, "/orders/7", HTML)

    assert "no order 7" not in proxied.text
    assert "no order 7" not in direct.text
    assert "a request came through a proxy (it carries x-forwarded-for)" in caplog.text


def test_a_request_from_another_machine_turns_the_page_off(caplog):
    app = failing_app(debug=True)
    request = call_app(app, "GET", "http://127.0.0.1/orders/7", HTML, client=("203.0.113.9", 1))

    with caplog.at_level(logging.WARNING, logger="microweb"):
        response = asyncio.run(request)

    assert response.status_code == 500
    assert "no order 7" not in response.text
    assert "a request came from 203.0.113.9, not a loopback address" in caplog.text


def test_forced_debug_shows_the_page_on_any_address(monkeypatch):
    assert "no order 7" in get(failing_app(debug="force"), "/orders/7", {}, "http://10.1.2.3").text
    monkeypatch.setenv("MICROWEB_DEBUG", "force")
    assert "no order 7" in get(failing_app(), "/orders/7", {}, "http://10.1.2.3").text


@pytest.mark.parametrize(
    ("server", "loopback"),
    [
        (("127.0.0.1", 8000), True),
        (("127.3.2.1", 8000), True),
        (("::1", 8000), True),
        (("::ffff:127.0.0.1", 8000), True),
        (("localhost", 8000), True),
        (("app.localhost", 8000), True),
        (("testserver", 443), True),
        (("0.0.0.0", 8000), False),
        (("::", 8000), False),
        (("192.168.1.20", 8000), False),
        (("::ffff:10.0.0.1", 8000), False),
        (("example.com", 443), False),
        (("/run/app.sock", None), False),
        (None, False),
    ],
)
def test_which_server_addresses_count_as_loopback(server, loopback):
    scope = {"type": "http"} if server is None else {"type": "http", "server": server}
    assert served_on_loopback(scope) is loopback


def test_the_users_on_error_and_not_found_still_win_with_debug_on():
    app = failing_app(debug=True)

    @app.on_error
    async def handle(err, c):
        return c.text("our own error page", 500)

    @app.not_found
    async def missing(c):
        return c.text("our own 404", 404)

    assert get(app, "/orders/7", HTML).text == "our own error page"
    assert get(app, "/nothing", HTML).text == "our own 404"


def test_an_error_whose_message_cannot_be_read_still_gets_the_page():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no str for you")

    app = MicroWeb(debug=True)

    @app.get("/")
    async def handler(c):
        raise Unprintable()

    response = get(app, "/", JSON)

    error = response.json()["exceptions"][0]
    assert error["type"].endswith("Unprintable")
    assert error["message"] == "<Unprintable: str() failed>"


def test_a_page_that_fails_to_build_falls_back_to_the_plain_500(monkeypatch, caplog):
    # A fault the page's own code cannot be made to hit from outside: make it fail.
    def broken(err, c):
        raise RuntimeError("page builder broke")

    monkeypatch.setattr("microweb.debug.error_report", broken)

    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = get(failing_app(debug=True), "/orders/7", HTML)

    assert response.status_code == 500
    assert "no order 7" not in response.text
    assert "<title>500 Internal Server Error</title>" in response.text
    assert "The debug page failed" in caplog.text


def test_a_deep_recursion_shows_the_most_recent_frames_only():
    app = MicroWeb(debug=True)

    def dig(n):
        return dig(n + 1)

    @app.get("/")
    async def handler(c):
        dig(0)

    report = get(app, "/", JSON).json()

    error = report["exceptions"][0]
    assert error["type"] == "RecursionError"
    assert len(error["frames"]) == 60
    assert error["frames"][0]["function"].endswith("dig")
    assert error["frames_omitted"] > 100


# -- the 404 page -----------------------------------------------------------------------


def routed_app():
    app = MicroWeb(debug=True)

    @app.get("/users/:id", name="user")
    async def show_user(c):
        return "user"

    app.post("/users", lambda c: "created")
    return app


def test_a_404_lists_the_apps_routes():
    response = get(routed_app(), "/user/1", HTML)

    assert response.status_code == 404
    page = response.text
    assert "No route matches GET /user/1" in page
    assert "<td>GET</td><td>/users/:id</td><td>user</td>" in page
    assert "<td>POST</td><td>/users</td><td>&lt;lambda&gt;</td>" in page


def test_a_404_lists_the_routes_as_json_for_json_clients():
    report = get(routed_app(), "/user/1", JSON).json()

    assert report["status"] == 404
    assert report["routes"] == [
        {"method": "GET", "path": "/users/:id", "name": "user"},
        {"method": "POST", "path": "/users", "name": "<lambda>"},
    ]
    assert (report["request"]["method"], report["request"]["path"]) == ("GET", "/user/1")


def test_with_debug_off_a_404_lists_nothing():
    app = MicroWeb()
    app.get("/secret-admin", lambda c: "x")

    for accept in (HTML, JSON, {}):
        assert "secret-admin" not in get(app, "/nothing", accept).text


# -- on a real server -------------------------------------------------------------------


def outward_address() -> str | None:
    """This machine's address on its default route, when it has one that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent for a UDP connect
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def html_get(host: str, port: int, path: str) -> str:
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    return raw_request(port, request.encode(), host=host).decode("utf-8", "replace")


def test_uvicorn_on_loopback_shows_the_page(tmp_path):
    with serve("tests.apps.debug_app:app", tmp_path, env={"MICROWEB_DEBUG": "1"}) as server:
        answer = html_get("127.0.0.1", server.port, "/boom")

    assert answer.startswith("HTTP/1.1 500")
    assert "boom from the debug app" in answer


def test_uvicorn_on_every_interface_hides_the_page_from_the_network(tmp_path):
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to send a request to")
    with serve(
        "tests.apps.debug_app:app",
        tmp_path,
        env={"MICROWEB_DEBUG": "1"},
        extra_args=("--host", "0.0.0.0"),
    ) as server:
        outside = html_get(address, server.port, "/boom")
        inside = html_get("127.0.0.1", server.port, "/boom")
        log = server.output()

    assert outside.startswith("HTTP/1.1 500")
    assert "boom from the debug app" not in outside.partition("\r\n\r\n")[2]
    assert "boom from the debug app" not in inside.partition("\r\n\r\n")[2]
    assert f"a request came in on {address}:{server.port}, not a loopback address" in log
