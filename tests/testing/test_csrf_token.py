"""`client.csrf_token()`: the CSRF token of the client's session, on every session driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from microweb import MicroWeb, csrf, csrf_field, login, session
from microweb.context import Context
from microweb.sessions import SessionMiddleware
from microweb.testing import TestClient
from tests.conftest import options_for

COOKIE = "microweb_session"


@pytest.fixture(params=["memory", "cookie", "file", "redis"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return options_for(request.param, request, tmp_path)


def notes_app(**options: Any) -> tuple[MicroWeb, list[str]]:
    app = MicroWeb()
    app.use(session(**options), csrf())
    seen: list[str] = []

    @app.get("/")
    async def home(c: Context) -> str:
        seen.append("home")
        return "home"

    @app.get("/form")
    async def form(c: Context) -> Any:
        return c.html(f"<form method=post>{csrf_field(c)}</form>")

    @app.post("/notes")
    async def add_note(c: Context) -> dict[str, object]:
        seen.append("note")
        return {"user": c.get("session").get("user_id")}

    @app.post("/login/:user")
    async def sign_in(c: Context) -> str:
        await login(c, c.req.param("user"))
        return "signed in"

    return app, seen


def test_the_token_lets_a_post_through_on_every_driver(options: dict[str, Any]) -> None:
    app, seen = notes_app(**options)
    with TestClient(app) as client:
        response = client.post("/notes", headers={"X-CSRF-Token": client.csrf_token()})

    assert (response.status_code, response.json()) == (200, {"user": None})
    assert seen == ["note"]


def test_it_starts_a_session_when_there_is_none_and_keeps_it(options: dict[str, Any]) -> None:
    app, _ = notes_app(**options)
    with TestClient(app) as client:
        assert COOKIE not in client.cookies

        token = client.csrf_token()

        assert COOKIE in client.cookies
        assert client.csrf_token() == token  # the same session, the same token


def test_the_token_follows_login_and_the_old_one_is_refused(options: dict[str, Any]) -> None:
    app, _ = notes_app(**options)
    with TestClient(app) as client:
        before = client.csrf_token()
        assert client.post("/login/ann", headers={"X-CSRF-Token": before}).status_code == 200

        after = client.csrf_token()
        refused = client.post("/notes", headers={"X-CSRF-Token": before})
        accepted = client.post("/notes", headers={"X-CSRF-Token": after})

    assert after != before
    assert refused.status_code == 403
    assert (accepted.status_code, accepted.json()) == (200, {"user": "ann"})


def test_it_is_the_token_the_apps_forms_carry() -> None:
    app, _ = notes_app()
    with TestClient(app) as client:
        client.get("/form")
        token = client.csrf_token()
        other = TestClient(app)
        try:
            other.get("/form")
            refused = other.post("/notes", headers={"X-CSRF-Token": token})
        finally:
            other.close()
        accepted = client.post("/notes", form={"_token": token})

    assert refused.status_code == 403  # another browser's session has another token
    assert accepted.status_code == 200


def test_asking_for_the_token_runs_no_handler() -> None:
    app, seen = notes_app()
    with TestClient(app) as client:
        client.csrf_token()

    assert seen == []


def test_without_session_middleware_on_the_path_it_says_what_to_do() -> None:
    app = MicroWeb()
    app.use("/app/*", session())
    app.get("/", lambda c: "home")
    app.post("/app/notes", lambda c: "noted")

    with TestClient(app) as client:
        with pytest.raises(RuntimeError) as error:
            client.csrf_token()
        token = client.csrf_token(path="/app/")

    assert "no session middleware answered GET / (the app answered 200)" in str(error.value)
    assert "csrf_token(path=...)" in str(error.value)
    assert len(token) > 20


def test_it_works_with_session_middleware_around_any_asgi_app() -> None:
    async def raw(scope, receive, send):  # type: ignore[no-untyped-def]
        body = scope["session"].token().encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with TestClient(SessionMiddleware(raw)) as client:
        token = client.csrf_token()
        assert client.get("/").text == token
