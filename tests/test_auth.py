"""Auth guards: `login`, `logout`, `require_auth`, `require_role` and `intended`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from microweb import (
    ForbiddenError,
    MicroWeb,
    UnauthorizedError,
    login,
    logout,
    require_auth,
    require_role,
    session,
)
from microweb.auth import intended
from microweb.context import Context
from microweb.sessions.store_memory import MemoryStore
from microweb.testing import TestClient
from tests.browsers import Browser
from tests.conftest import options_for

COOKIE = "microweb_session"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"accept": "application/json"}


class RecordingMemoryStore(MemoryStore):
    """A memory store that remembers the user index entries it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.indexed: list[tuple[str, str]] = []

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        self.indexed.append((user_id, sid))
        await super().index_user(user_id, sid, idle_s)


def build_app(**options: Any) -> MicroWeb:
    """Routes for logging in and out, and pages behind each kind of guard."""
    app = MicroWeb()
    app.use(session(**options))
    app.use("/members/*", require_auth())
    app.use("/staff/*", require_role("admin"))
    app.use("/site/*", require_auth(redirect_to="/login"))

    @app.get("/touch")
    async def touch(c: Context) -> dict[str, Any]:
        s = c.get("session")
        s.put("visited", True)
        return {"id": s.id}

    @app.post("/login/:user")
    async def do_login(c: Context) -> dict[str, Any]:
        await login(c, c.req.param("user"), role=c.req.query("role"))
        return {"next": intended(c)}

    @app.post("/logout")
    async def do_logout(c: Context) -> str:
        await logout(c, everywhere=c.req.query("everywhere") == "1")
        return "bye"

    @app.post("/regenerate")
    async def regenerate(c: Context) -> str:
        await c.get("session").regenerate()
        return "regenerated"

    @app.get("/whoami")
    async def whoami(c: Context) -> dict[str, Any]:
        s = c.get("session")
        return {"id": s.id, "user_id": s.get("user_id"), "role": s.get("role")}

    @app.get("/visited")
    async def visited(c: Context) -> dict[str, Any]:
        return {"visited": c.get("session").get("visited")}

    @app.get("/token")
    async def token(c: Context) -> dict[str, str]:
        return {"token": c.get("session").token()}

    @app.get("/me", require_auth())
    async def me(c: Context) -> dict[str, Any]:
        return {"user_id": c.get("session").get("user_id")}

    @app.get("/members/area")
    async def members_area(c: Context) -> str:
        return "members only"

    @app.get("/dashboard", require_auth(redirect_to="/login"))
    async def dashboard(c: Context) -> str:
        return "dashboard"

    @app.get("/site/*")
    async def site(c: Context) -> str:
        return "site page " + c.req.path

    @app.get("/admin", require_role("admin"))
    async def admin(c: Context) -> str:
        return "admin page"

    @app.get("/reports", require_role("admin", "auditor"))
    async def reports(c: Context) -> str:
        return "reports"

    @app.get("/staff/panel")
    async def staff_panel(c: Context) -> str:
        return "staff panel"

    @app.get("/plant-intended")
    async def plant_intended(c: Context) -> str:
        c.get("session").put("_intended", c.req.query("target"))
        return "planted"

    @app.get("/raise-unauthorized")
    async def raise_unauthorized(c: Context) -> str:
        raise UnauthorizedError()

    @app.get("/raise-forbidden")
    async def raise_forbidden(c: Context) -> str:
        raise ForbiddenError("Not your invoice")

    return app


@pytest.fixture
def auth_app() -> MicroWeb:
    return build_app()


@pytest.fixture
def client(auth_app: MicroWeb) -> Iterator[TestClient]:
    with TestClient(auth_app) as client:
        yield client


@pytest.fixture
def other_client(auth_app: MicroWeb, client: TestClient) -> Iterator[TestClient]:
    """A second browser on the same app (memory store), without its own lifespan."""
    other = TestClient(auth_app)
    yield other
    other.close()


@pytest.fixture(params=["memory", "file", "redis", "postgres", "sqlite"])
def server_side_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return options_for(request.param, request, tmp_path)


@pytest.fixture(params=["memory", "cookie", "file", "redis", "postgres", "sqlite"])
def any_driver_options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return options_for(request.param, request, tmp_path)


# -- login -------------------------------------------------------------------


def test_login_gives_the_session_a_new_id(client: TestClient) -> None:
    before = client.get("/touch").json()["id"]
    client.post("/login/alice")
    after = client.get("/whoami").json()["id"]
    assert after != before


def test_pre_login_cookie_does_not_reach_the_logged_in_session(
    client: TestClient, other_client: TestClient
) -> None:
    client.get("/touch")
    planted = client.cookies.get(COOKIE)
    assert planted
    client.post("/login/alice")
    assert client.cookies.get(COOKIE) != planted
    assert client.get("/me").status_code == 200

    other_client.cookies.set(COOKIE, planted)  # the attacker replays the old value
    response = other_client.get("/me")
    assert response.status_code == 401


def test_fixated_session_id_is_dead_after_the_victim_logs_in(
    client: TestClient, other_client: TestClient
) -> None:
    attacker = other_client
    attacker.get("/touch")
    fixed = attacker.cookies.get(COOKIE)
    assert fixed
    victim = client
    victim.cookies.set(COOKIE, fixed)  # planted in the victim's browser
    victim.post("/login/alice")
    assert victim.get("/me").json() == {"user_id": "alice"}

    response = attacker.get("/me")
    assert response.status_code == 401


def test_pre_login_cookie_is_not_logged_in_after_login_on_every_driver(
    any_driver_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**any_driver_options)) as client:
        victim, attacker = Browser(client), Browser(client)
        victim.get("/touch")
        planted = victim.jar.get(COOKIE)
        assert planted
        victim.post("/login/alice")
        assert victim.get("/me").status_code == 200

        attacker.jar.set(COOKIE, planted)
        assert attacker.get("/me").status_code == 401


def test_login_stores_user_id_and_role(client: TestClient) -> None:
    client.post("/login/alice?role=admin")
    body = client.get("/whoami").json()
    assert (body["user_id"], body["role"]) == ("alice", "admin")


def test_login_without_role_stores_no_role(client: TestClient) -> None:
    client.post("/login/alice?role=admin")
    client.post("/login/bob")
    body = client.get("/whoami").json()
    assert (body["user_id"], body["role"]) == ("bob", None)


def test_login_keeps_the_data_stored_before_login(client: TestClient) -> None:
    client.get("/touch")
    client.post("/login/alice")
    assert client.get("/visited").json() == {"visited": True}


def test_login_rotates_the_csrf_token(client: TestClient) -> None:
    before = client.get("/token").json()["token"]
    client.post("/login/alice")
    after = client.get("/token").json()["token"]
    assert after != before


def test_login_indexes_the_session_under_the_user() -> None:
    store = RecordingMemoryStore()
    with TestClient(build_app(driver=store)) as client:
        client.post("/login/alice")
        sid = client.get("/whoami").json()["id"]
    assert ("alice", sid) in store.indexed


# -- logout ------------------------------------------------------------------


def test_logout_ends_the_session(client: TestClient) -> None:
    client.post("/login/alice")
    assert client.post("/logout").text == "bye"
    assert client.get("/me").status_code == 401


def test_old_cookie_is_not_logged_in_after_logout(
    client: TestClient, other_client: TestClient
) -> None:
    client.post("/login/alice")
    logged_in = client.cookies.get(COOKIE)
    assert logged_in
    client.post("/logout")

    other_client.cookies.set(COOKIE, logged_in)
    assert other_client.get("/me").status_code == 401


def test_logged_in_cookie_is_dead_after_logout_on_every_server_driver(
    server_side_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_side_options)) as client:
        user, thief = Browser(client), Browser(client)
        user.post("/login/alice")
        stolen = user.jar.get(COOKIE)
        assert stolen
        user.post("/logout")

        thief.jar.set(COOKIE, stolen)
        assert thief.get("/me").status_code == 401


def test_logout_everywhere_ends_every_session_of_that_user_only(
    server_side_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_side_options)) as client:
        laptop, phone, colleague = Browser(client), Browser(client), Browser(client)
        laptop.post("/login/alice")
        phone.post("/login/alice")
        colleague.post("/login/bob")
        assert [b.get("/me").status_code for b in (laptop, phone, colleague)] == [200] * 3

        assert laptop.post("/logout?everywhere=1").status_code == 200

        assert laptop.get("/me").status_code == 401
        assert phone.get("/me").status_code == 401
        assert colleague.get("/me").json() == {"user_id": "bob"}


def test_logout_everywhere_also_ends_a_session_whose_id_was_regenerated_after_login(
    server_side_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_side_options)) as client:
        laptop, phone = Browser(client), Browser(client)
        laptop.post("/login/alice")
        phone.post("/login/alice")
        assert phone.post("/regenerate").text == "regenerated"  # e.g. a "sudo mode" step
        assert phone.get("/me").status_code == 200

        laptop.post("/logout?everywhere=1")

        assert phone.get("/me").status_code == 401


def test_logout_everywhere_spares_a_browser_now_logged_in_as_someone_else(
    server_side_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_side_options)) as client:
        shared, laptop = Browser(client), Browser(client)
        shared.post("/login/alice")
        shared.post("/login/bob")  # bob takes over the shared computer
        laptop.post("/login/alice")

        laptop.post("/logout?everywhere=1")

        assert shared.get("/me").json() == {"user_id": "bob"}


def test_plain_logout_leaves_the_users_other_sessions_alone(
    server_side_options: dict[str, Any],
) -> None:
    with TestClient(build_app(**server_side_options)) as client:
        laptop, phone = Browser(client), Browser(client)
        laptop.post("/login/alice")
        phone.post("/login/alice")
        laptop.post("/logout")
        assert laptop.get("/me").status_code == 401
        assert phone.get("/me").status_code == 200


def test_logout_everywhere_on_the_cookie_driver_is_a_logged_500_naming_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(build_app(driver="cookie", secret="s" * 32)) as client:
        client.post("/login/alice")
        with caplog.at_level(logging.ERROR):
            response = client.post("/logout?everywhere=1")
    assert response.status_code == 500
    assert "cookie" not in response.text.lower()  # no internals leak to the client
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the 500 was not logged"
    exc_type, exc, _ = errors[-1].exc_info or (None, None, None)
    assert exc_type is NotImplementedError
    message = str(exc)
    assert "cookie" in message
    assert "logout everywhere" in message
    assert "memory, file or redis" in message
    assert "logout everywhere" in caplog.text


def test_refused_logout_everywhere_on_the_cookie_driver_leaves_the_user_logged_in() -> None:
    with TestClient(build_app(driver="cookie", secret="s" * 32)) as client:
        client.post("/login/alice")
        assert client.post("/logout?everywhere=1").status_code == 500
        assert client.get("/me").json() == {"user_id": "alice"}


def test_plain_logout_works_on_the_cookie_driver() -> None:
    with TestClient(build_app(driver="cookie", secret="s" * 32)) as client:
        client.post("/login/alice")
        assert client.post("/logout").status_code == 200
        assert client.get("/me").status_code == 401


# -- require_auth --------------------------------------------------------------


def test_require_auth_answers_401_in_json_to_json_clients(client: TestClient) -> None:
    response = client.get("/me", headers=JSON)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "Authentication required", "status": 401}


def test_require_auth_answers_401_with_an_html_page_to_browsers(client: TestClient) -> None:
    response = client.get("/me", headers=HTML)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>401 Unauthorized</h1>" in response.text
    assert "Authentication required" in response.text


def test_require_auth_answers_401_in_plain_text_otherwise(client: TestClient) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Authentication required"


def test_require_auth_lets_a_logged_in_user_through(client: TestClient) -> None:
    client.post("/login/alice")
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"user_id": "alice"}


def test_require_auth_with_app_use_guards_the_path(client: TestClient) -> None:
    assert client.get("/members/area").status_code == 401
    client.post("/login/alice")
    response = client.get("/members/area")
    assert (response.status_code, response.text) == (200, "members only")


def test_require_auth_redirect_sends_browsers_to_the_login_page(client: TestClient) -> None:
    response = client.get("/dashboard", headers=HTML)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login"


def test_require_auth_redirect_still_answers_401_to_api_clients(client: TestClient) -> None:
    response = client.get("/dashboard", headers=JSON)
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_intended_returns_the_page_the_browser_was_sent_away_from(client: TestClient) -> None:
    client.get("/site/reports?year=2024&q=a%20b", headers=HTML)
    response = client.post("/login/alice")
    assert response.json() == {"next": "/site/reports?year=2024&q=a%20b"}


def test_intended_is_forgotten_once_read(client: TestClient) -> None:
    client.get("/dashboard", headers=HTML)
    assert client.post("/login/alice").json() == {"next": "/dashboard"}
    assert client.post("/login/alice").json() == {"next": "/"}


def test_intended_defaults_to_root_without_a_remembered_page(client: TestClient) -> None:
    assert client.post("/login/alice").json() == {"next": "/"}


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example",
        "https://evil.example/dashboard",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_intended_never_returns_an_external_url(client: TestClient, target: str) -> None:
    client.get("/plant-intended?target=" + quote(target, safe=""))
    assert client.post("/login/alice").json() == {"next": "/"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/site/%E2%82%AC", "/site/%E2%82%AC"),
        ("/site/%F0%9F%98%80/caf%C3%A9?q=%E2%82%AC", "/site/%F0%9F%98%80/caf%C3%A9?q=%E2%82%AC"),
        ("/site/a%2Fb", "/site/a%2Fb"),
        ("/site/a%20b", "/site/a%20b"),
    ],
)
def test_a_guarded_page_with_a_non_latin1_path_is_reached_after_login(
    path: str, location: str
) -> None:
    app = build_app()

    @app.post("/login-and-go")
    async def login_and_go(c: Context) -> Any:
        await login(c, "alice")
        return c.redirect(intended(c), 303)

    with TestClient(app) as browser:
        sent_away = browser.get(path, headers=HTML)
        back = browser.post("/login-and-go")
        page = browser.get(back.headers["location"])

    assert (sent_away.status_code, sent_away.headers["location"]) == (302, "/login")
    assert (back.status_code, back.headers["location"]) == (303, location)
    assert page.status_code == 200
    assert page.text.startswith("site page /site/")


@pytest.mark.parametrize("path", ["//evil.example", "/%5Cevil.example"])
def test_external_looking_request_paths_do_not_become_open_redirects(path: str) -> None:
    auth_app = build_app()
    auth_app.use("*", require_auth(redirect_to="/login"))
    with TestClient(auth_app) as browser:
        browser.get(path, headers=HTML)
        response = browser.post("/login/alice")
    assert response.json() == {"next": "/"}


# -- require_role --------------------------------------------------------------


def test_require_role_answers_401_to_anonymous_users(client: TestClient) -> None:
    response = client.get("/admin")
    assert response.status_code == 401


def test_require_role_answers_403_to_the_wrong_role(client: TestClient) -> None:
    client.post("/login/bob?role=user")
    response = client.get("/admin", headers=JSON)
    assert response.status_code == 403
    assert response.json()["status"] == 403


def test_require_role_answers_403_to_a_user_without_a_role(client: TestClient) -> None:
    client.post("/login/bob")
    assert client.get("/admin").status_code == 403


def test_require_role_lets_the_right_role_through(client: TestClient) -> None:
    client.post("/login/alice?role=admin")
    response = client.get("/admin")
    assert (response.status_code, response.text) == (200, "admin page")


def test_require_role_accepts_any_of_several_roles(client: TestClient) -> None:
    client.post("/login/carol?role=auditor")
    assert client.get("/reports").status_code == 200
    assert client.get("/admin").status_code == 403


def test_require_role_with_app_use_guards_the_path(client: TestClient) -> None:
    assert client.get("/staff/panel").status_code == 401
    client.post("/login/bob?role=user")
    assert client.get("/staff/panel").status_code == 403
    client.post("/login/alice?role=admin")
    response = client.get("/staff/panel")
    assert (response.status_code, response.text) == (200, "staff panel")


def test_require_role_needs_at_least_one_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_role()


def test_unauthorized_error_raised_in_a_handler_answers_401(client: TestClient) -> None:
    assert client.get("/raise-unauthorized").status_code == 401


def test_forbidden_error_raised_in_a_handler_answers_403_with_its_message(
    client: TestClient,
) -> None:
    response = client.get("/raise-forbidden")
    assert (response.status_code, response.text) == (403, "Not your invoice")


def test_guards_without_session_middleware_fail_with_a_clear_logged_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = MicroWeb()

    @app.get("/private", require_auth())
    async def private(c: Context) -> str:
        return "private"

    with TestClient(app) as client, caplog.at_level(logging.ERROR):
        response = client.get("/private")
    assert response.status_code == 500
    assert "app.use(session(...))" in caplog.text
