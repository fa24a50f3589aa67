"""examples/app.py end to end through TestClient: the HTML flow and the JSON API."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from types import ModuleType

import pytest

from microweb.csrf_protection import unmask_token
from microweb.testing import TestClient, TestResponse

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "app.py"
HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"accept": "application/json"}
COOKIE = "microweb_session"


def load_example() -> ModuleType:
    """A fresh copy of examples/app.py, so each test gets its own memory store."""
    spec = importlib.util.spec_from_file_location("example_app_under_test", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("SESSION_DRIVER", "memory")
    return load_example()


@pytest.fixture
def browsers(example: ModuleType) -> Iterator[Callable[[], TestClient]]:
    """Open browsers on the example app: the first runs the lifespan, the others
    share its memory store."""
    opened: list[TestClient] = []

    def open_browser() -> TestClient:
        browser = TestClient(example.app)
        if not opened:
            browser.__enter__()
        opened.append(browser)
        return browser

    yield open_browser
    for browser in reversed(opened[1:]):
        browser.close()
    if opened:
        opened[0].__exit__(None, None, None)


@pytest.fixture
def browser(browsers: Callable[[], TestClient]) -> TestClient:
    return browsers()


def form_token(page: TestResponse) -> str:
    match = re.search(r'name="_token" value="([^"]+)"', page.text)
    assert match is not None, page.text
    return unescape(match.group(1))


def page_get(browser: TestClient, path: str) -> TestResponse:
    return browser.get(path, headers=HTML)


def submit_login(browser: TestClient, username: str, password: str) -> TestResponse:
    token = form_token(page_get(browser, "/login"))
    return browser.post(
        "/login",
        headers=HTML,
        form={"_token": token, "username": username, "password": password},
    )


def flashes(page: TestResponse) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="flash [a-z]+"[^>]*>([^<]*)</p>', page.text)]


def post_form(browser: TestClient, page_path: str, action: str) -> TestResponse:
    """Submit the form posting to `action` found on `page_path`, as a browser would."""
    page = page_get(browser, page_path)
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}">\s*'
        r'<input type="hidden" name="_token" value="([^"]+)">',
        page.text,
    )
    assert match is not None, page.text
    return browser.post(action, headers=HTML, form={"_token": unescape(match.group(1))})


# -- the HTML flow ---------------------------------------------------------------------


def test_login_page_shows_the_form_with_a_csrf_field(browser: TestClient) -> None:
    page = page_get(browser, "/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in page.text
    assert 'name="username"' in page.text
    assert 'name="password" type="password"' in page.text
    assert form_token(page)


def test_anonymous_dashboard_visit_redirects_to_the_login_form(browser: TestClient) -> None:
    response = page_get(browser, "/dashboard")
    assert response.status_code == 302
    assert response.headers["location"] == "/login"


def test_login_form_post_without_the_token_is_refused(browser: TestClient) -> None:
    page_get(browser, "/login")
    response = browser.post(
        "/login", headers=HTML, form={"username": "alice", "password": "wonderland"}
    )
    assert response.status_code == 403
    assert page_get(browser, "/dashboard").status_code == 302


def test_wrong_password_redirects_back_with_an_error_flash(browser: TestClient) -> None:
    response = submit_login(browser, "alice", "not-it")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = page_get(browser, "/login")
    assert flashes(page) == ["Wrong user name or password."]
    assert 'class="flash error"' in page.text
    assert page_get(browser, "/dashboard").status_code == 302


def test_unknown_user_gets_the_same_error(browser: TestClient) -> None:
    submit_login(browser, "mallory", "wonderland")
    assert flashes(page_get(browser, "/login")) == ["Wrong user name or password."]


def test_error_flash_is_shown_once(browser: TestClient) -> None:
    submit_login(browser, "alice", "not-it")
    assert flashes(page_get(browser, "/login")) == ["Wrong user name or password."]
    assert flashes(page_get(browser, "/login")) == []


def test_login_redirects_to_the_dashboard(browser: TestClient) -> None:
    response = submit_login(browser, "bob", "builder")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"


def test_welcome_flash_is_shown_once_on_the_dashboard(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")
    first = page_get(browser, "/dashboard")
    assert first.status_code == 200
    assert "<h1>Dashboard of bob</h1>" in first.text
    assert flashes(first) == ["Welcome back, Bob!"]
    assert "Signed in as bob" in first.text
    again = page_get(browser, "/dashboard")
    assert again.status_code == 200
    assert flashes(again) == []


def test_dashboard_counts_visits_in_this_session(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")
    counts = []
    for _ in range(3):
        page = page_get(browser, "/dashboard")
        match = re.search(r'<p id="visits">Dashboard visits this session: (\d+)</p>', page.text)
        assert match is not None
        counts.append(int(match.group(1)))
    assert counts == [1, 2, 3]


def test_login_returns_to_the_page_that_asked_for_it(browser: TestClient) -> None:
    assert page_get(browser, "/admin").headers["location"] == "/login"
    response = submit_login(browser, "alice", "wonderland")
    assert response.headers["location"] == "/admin"


def test_a_failed_attempt_does_not_forget_the_page_that_asked_for_login(
    browser: TestClient,
) -> None:
    page_get(browser, "/admin")
    submit_login(browser, "alice", "wrong")
    response = submit_login(browser, "alice", "wonderland")
    assert response.headers["location"] == "/admin"


def test_admin_page_is_403_for_bob(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")
    response = page_get(browser, "/admin")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>403 Forbidden</h1>" in response.text


def test_admin_page_is_200_for_alice(browser: TestClient) -> None:
    submit_login(browser, "alice", "wonderland")
    response = page_get(browser, "/admin")
    assert response.status_code == 200
    assert "<h1>Admin</h1>" in response.text
    assert "2 users." in response.text


def test_logout_ends_the_session_and_says_so(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")
    response = post_form(browser, "/dashboard", "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = page_get(browser, "/login")
    assert flashes(page) == ["You have been logged out."]
    assert "Signed in as" not in page.text
    assert page_get(browser, "/dashboard").status_code == 302


def test_logout_without_the_token_is_refused(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")
    assert browser.post("/logout", headers=HTML).status_code == 403
    assert page_get(browser, "/dashboard").status_code == 200


def test_logout_everywhere_ends_the_users_other_sessions(
    browsers: Callable[[], TestClient],
) -> None:
    laptop, phone, bobs = browsers(), browsers(), browsers()
    submit_login(laptop, "alice", "wonderland")
    submit_login(phone, "alice", "wonderland")
    submit_login(bobs, "bob", "builder")

    response = post_form(laptop, "/dashboard", "/logout/everywhere")
    assert response.status_code == 303
    assert flashes(page_get(laptop, "/login")) == ["You have been logged out on every device."]

    assert page_get(laptop, "/dashboard").status_code == 302
    assert page_get(phone, "/dashboard").status_code == 302
    assert page_get(bobs, "/dashboard").status_code == 200


def test_plain_logout_keeps_the_users_other_sessions(browsers: Callable[[], TestClient]) -> None:
    laptop, phone = browsers(), browsers()
    submit_login(laptop, "alice", "wonderland")
    submit_login(phone, "alice", "wonderland")
    post_form(laptop, "/dashboard", "/logout")
    assert page_get(laptop, "/dashboard").status_code == 302
    assert page_get(phone, "/dashboard").status_code == 200


def test_session_cookie_is_secure_http_only_and_lax(browser: TestClient) -> None:
    response = submit_login(browser, "bob", "builder")
    [cookie] = [v for v in response.headers.getall("set-cookie") if v.startswith(COOKIE + "=")]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# -- the JSON API -----------------------------------------------------------------------


def api_token(client: TestClient) -> str:
    response = client.get("/api/csrf-token", headers=JSON)
    assert response.status_code == 200
    token: str = response.json()["token"]
    return token


def api_login(client: TestClient, username: str, password: str) -> TestResponse:
    return client.post(
        "/api/login",
        headers={**JSON, "x-csrf-token": api_token(client)},
        json={"username": username, "password": password},
    )


def test_api_csrf_token_gives_a_token(browser: TestClient) -> None:
    assert api_token(browser)


def test_api_login_without_the_token_is_403(browser: TestClient) -> None:
    api_token(browser)
    response = browser.post(
        "/api/login", headers=JSON, json={"username": "bob", "password": "builder"}
    )
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert browser.get("/api/me", headers=JSON).status_code == 401


def test_api_login_with_a_wrong_password_is_401(browser: TestClient) -> None:
    response = api_login(browser, "bob", "nope")
    assert response.status_code == 401
    assert response.json() == {"error": "Wrong user name or password"}


@pytest.mark.parametrize(
    ("username", "password"),
    [("bob", "\udc00"), ("bob", "builder\ud800"), ("\ud800", "builder"), ("bob", "\U0001f600")],
)
def test_api_login_with_a_lone_surrogate_is_401(
    browser: TestClient, username: str, password: str
) -> None:
    response = api_login(browser, username, password)  # the JSON carries \\uXXXX escapes

    assert response.status_code == 401
    assert response.json() == {"error": "Wrong user name or password"}


def test_api_login_answers_the_user_role_and_a_fresh_token(browser: TestClient) -> None:
    before = api_token(browser)
    response = browser.post(
        "/api/login",
        headers={**JSON, "x-csrf-token": before},
        json={"username": "bob", "password": "builder"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["user"], body["role"]) == ("bob", "user")
    assert body["csrf_token"]


def test_api_me_is_401_json_before_login(browser: TestClient) -> None:
    response = browser.get("/api/me", headers=JSON)
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required", "status": 401}


def test_api_me_shows_the_logged_in_user(browser: TestClient) -> None:
    api_login(browser, "bob", "builder")
    response = browser.get("/api/me", headers=JSON)
    assert response.json() == {"user": "bob", "role": "user"}


def test_api_admin_users_is_403_for_bob(browser: TestClient) -> None:
    api_login(browser, "bob", "builder")
    response = browser.get("/api/admin/users", headers=JSON)
    assert response.status_code == 403
    assert response.json()["status"] == 403


def test_api_admin_users_is_200_for_alice(browser: TestClient) -> None:
    api_login(browser, "alice", "wonderland")
    response = browser.get("/api/admin/users", headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"users": ["alice", "bob"]}


def test_api_pre_login_token_is_refused_after_login(browser: TestClient) -> None:
    before = api_token(browser)
    browser.post(
        "/api/login",
        headers={**JSON, "x-csrf-token": before},
        json={"username": "bob", "password": "builder"},
    )
    response = browser.post("/api/logout", headers={**JSON, "x-csrf-token": before})
    assert response.status_code == 403
    assert browser.get("/api/me", headers=JSON).status_code == 200


def test_api_logout_with_the_token_from_login_ends_the_session(browser: TestClient) -> None:
    token = api_login(browser, "alice", "wonderland").json()["csrf_token"]
    response = browser.post("/api/logout", headers={**JSON, "x-csrf-token": token})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert browser.get("/api/me", headers=JSON).status_code == 401
    assert browser.get("/api/admin/users", headers=JSON).status_code == 401


def test_anonymous_pages_create_no_session(browser: TestClient) -> None:
    home = browser.get("/", headers=HTML)

    assert home.status_code == 200
    assert "set-cookie" not in home.headers
    assert COOKIE not in browser.cookies


# -- what the rebuilt app adds: static files, headers, rate limit, notes, devices -------


def test_the_stylesheet_is_served_with_its_type_and_validators(browser: TestClient) -> None:
    response = browser.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "max-width: 40rem" in response.text
    assert response.headers["etag"]
    again = browser.get("/static/site.css", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304


def test_pages_carry_a_strict_content_security_policy_with_a_fresh_nonce(
    browser: TestClient,
) -> None:
    first = page_get(browser, "/login").headers["content-security-policy"]
    second = page_get(browser, "/login").headers["content-security-policy"]
    assert "default-src 'self'" in first
    assert re.search(r"script-src 'self' 'nonce-[^']+'", first)
    assert first != second


def test_error_pages_carry_the_security_headers_too(browser: TestClient) -> None:
    missing = page_get(browser, "/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in missing.headers["content-security-policy"]


def test_the_sixth_login_attempt_in_a_minute_is_429(browser: TestClient) -> None:
    for _ in range(5):
        assert submit_login(browser, "alice", "wrong").status_code == 303
    refused = submit_login(browser, "alice", "wonderland")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert page_get(browser, "/dashboard").status_code == 302


def test_notes_api_validates_its_json_body(browser: TestClient) -> None:
    token = api_login(browser, "bob", "builder").json()["csrf_token"]
    headers = {**JSON, "x-csrf-token": token}
    bad = browser.post("/api/notes", headers=headers, json={"pinned": "yes please"})
    assert bad.status_code == 400
    fields = {issue["field"] for issue in bad.json()["issues"]}
    assert "text" in fields
    good = browser.post("/api/notes", headers=headers, json={"text": "buy milk"})
    assert good.status_code == 201
    assert good.json() == {"notes": [{"text": "buy milk", "pinned": False}]}
    assert browser.get("/api/notes", headers=JSON).json() == good.json()


@pytest.mark.parametrize("ref", ["\u00e9", "\u20ac" * 30, ""])
def test_revoking_a_ref_that_is_no_device_changes_nothing(browser: TestClient, ref: str) -> None:
    submit_login(browser, "alice", "wonderland")
    token = form_token(page_get(browser, "/dashboard"))

    revoked = browser.post("/sessions/revoke", headers=HTML, form={"_token": token, "ref": ref})

    assert revoked.status_code == 303
    assert page_get(browser, "/dashboard").status_code == 200


def meta_token(page: TestResponse) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match is not None, page.text
    return unescape(match.group(1))


def test_the_csrf_meta_tag_carries_a_masked_token_that_verifies(browser: TestClient) -> None:
    submit_login(browser, "bob", "builder")

    pages = [page_get(browser, "/dashboard") for _ in range(2)]
    first, second = (meta_token(page) for page in pages)
    raw = unmask_token(first)
    posted = browser.post(
        "/api/notes", headers={**JSON, "x-csrf-token": first}, json={"text": "from the meta tag"}
    )

    assert first != second
    assert raw is not None and unmask_token(second) == raw
    assert all(raw not in page.text for page in pages)
    assert posted.status_code == 201


def test_devices_page_lists_each_session_and_revokes_another(
    browsers: Callable[[], TestClient],
) -> None:
    laptop, phone = browsers(), browsers()
    submit_login(laptop, "alice", "wonderland")
    submit_login(phone, "alice", "wonderland")
    page = page_get(laptop, "/sessions")
    assert page.status_code == 200
    assert page.text.count("<tr") == 3  # the header row and two devices
    assert "this device" in page.text
    cookie_value = (laptop.cookies.header_for("https://testserver/") or "").split("=", 1)[1]
    assert cookie_value.split(".")[0] not in page.text
    match = re.search(
        r'name="_token" value="([^"]+)">\s*<input type="hidden" name="ref" value="([^"]+)"',
        page.text,
    )
    assert match is not None, page.text
    token, ref = (unescape(group) for group in match.groups())
    revoked = laptop.post("/sessions/revoke", headers=HTML, form={"_token": token, "ref": ref})
    assert revoked.status_code == 303
    assert page_get(phone, "/dashboard").status_code == 302
    assert page_get(laptop, "/dashboard").status_code == 200


# -- the cookie driver, which keeps no list of sessions ---------------------------------


@pytest.fixture
def cookie_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SESSION_DRIVER", "cookie")
    monkeypatch.setenv("SESSION_SECRET", "example-test-secret-" + "x" * 32)
    with TestClient(load_example().app) as browser:
        yield browser


def test_devices_page_on_the_cookie_driver_says_it_cannot_list_devices(
    cookie_browser: TestClient,
) -> None:
    submit_login(cookie_browser, "alice", "wonderland")

    page = page_get(cookie_browser, "/sessions")

    assert page.status_code == 200
    assert "cannot list your devices or sign the others out" in unescape(page.text)
    assert 'id="devices"' not in page.text


@pytest.mark.parametrize("action", ["/logout/everywhere", "/sessions/revoke"])
def test_logout_everywhere_and_revoke_on_the_cookie_driver_say_so_and_change_nothing(
    cookie_browser: TestClient, action: str
) -> None:
    submit_login(cookie_browser, "alice", "wonderland")
    token = form_token(page_get(cookie_browser, "/dashboard"))

    answer = cookie_browser.post(action, headers=HTML, form={"_token": token, "ref": "x"})
    page = page_get(cookie_browser, answer.headers["location"])

    assert (answer.status_code, answer.headers["location"]) == (303, "/sessions")
    assert "cannot list your devices or sign the others out" in " ".join(flashes(page))
    assert page_get(cookie_browser, "/dashboard").status_code == 200


# -- sessions in the database ----------------------------------------------------------


@pytest.mark.parametrize("driver", ["postgres", "sqlite"])
def test_the_example_keeps_its_sessions_in_the_database_it_is_given(
    driver: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_DRIVER", driver)
    if driver == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
        monkeypatch.setenv("SESSION_TABLE", request.getfixturevalue("postgres_table"))
    else:
        monkeypatch.setenv("SQLITE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    example = load_example()
    with TestClient(example.app) as laptop:
        submit_login(laptop, "bob", "builder")
        phone = TestClient(example.app)
        submit_login(phone, "bob", "builder")
        assert "<h1>Dashboard of bob</h1>" in page_get(phone, "/dashboard").text
        assert signed_in_rows(driver, "bob") == 2
        post_form(laptop, "/dashboard", "/logout/everywhere")
        assert page_get(phone, "/dashboard").status_code == 302
        assert signed_in_rows(driver, "bob") == 0


def signed_in_rows(driver: str, user: str) -> int:
    """How many rows of the example's session table are signed in as `user`."""
    import os

    sql = f"SELECT count(*) FROM {os.environ.get('SESSION_TABLE', 'microweb_sessions')} "
    if driver == "sqlite":
        import sqlite3

        with contextlib.closing(sqlite3.connect(os.environ["SQLITE_URL"][10:])) as conn:
            return int(conn.execute(sql + "WHERE user_id = ?", (user,)).fetchone()[0])
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        found = conn.execute(sql + "WHERE user_id = %s", (user,)).fetchone()
    assert found is not None
    return int(found[0])
