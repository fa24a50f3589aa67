"""`SessionMiddleware` around any ASGI app: same behaviour, `scope["session"]`."""

from __future__ import annotations

from typing import Any

from microweb.sessions import SessionMiddleware, session
from microweb.sessions.middleware import AppSessionMiddleware, ASGISessionMiddleware
from microweb.testing import TestClient
from microweb.types import Receive, Scope, Send

from .conftest import COOKIE, free_port


class CounterApp:
    """A bare ASGI app: `/count` increments a session counter, `/plain` does not."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                done = message["type"] + ".complete"
                await send({"type": done})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b"plain"
        headers: list[tuple[bytes, bytes]] = [(b"vary", b"Accept-Encoding")]
        if scope["path"] == "/count":
            body = str(scope["session"].increment("count")).encode()
        elif scope["path"] == "/boom":
            scope["session"].put("seen", True)
            body, headers = b"error", []
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def session_cookies(response: Any) -> list[str]:
    return [v for v in response.headers.getall("set-cookie") if v.startswith(COOKIE)]


def test_asgi_middleware_keeps_a_session_in_scope() -> None:
    with TestClient(SessionMiddleware(CounterApp())) as client:
        assert client.get("/count").text == "1"
        assert client.get("/count").text == "2"


def test_asgi_middleware_is_lazy() -> None:
    with TestClient(SessionMiddleware(CounterApp())) as client:
        response = client.get("/plain")
        assert session_cookies(response) == []
        assert response.headers.getall("vary") == ["Accept-Encoding"]


def test_asgi_middleware_appends_vary_cookie() -> None:
    with TestClient(SessionMiddleware(CounterApp())) as client:
        assert client.get("/count").headers.getall("vary") == ["Accept-Encoding", "Cookie"]


def test_asgi_middleware_saves_on_error_responses_too() -> None:
    with TestClient(SessionMiddleware(CounterApp())) as client:
        assert client.get("/boom").status_code == 500
        assert session_cookies(client.get("/count")) != []


def test_asgi_middleware_passes_lifespan_through_and_opens_the_store() -> None:
    app = CounterApp()
    middleware = SessionMiddleware(app)
    with TestClient(middleware) as client:
        assert middleware.manager._started
        client.get("/count")
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
    assert not middleware.manager._started


def test_asgi_middleware_opens_the_store_lazily_without_lifespan() -> None:
    client = TestClient(SessionMiddleware(CounterApp()))
    try:
        assert client.get("/count").text == "1"
        assert client.get("/count").text == "2"
    finally:
        client.close()


def test_asgi_middleware_works_around_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def visits(request: Request) -> PlainTextResponse:
        session = request.scope["session"]
        return PlainTextResponse(str(session.increment("visits")))

    app = SessionMiddleware(Starlette(routes=[Route("/", visits)]), driver="cookie", secret="k")
    with TestClient(app) as client:
        assert client.get("/").text == "1"
        assert client.get("/").text == "2"


def test_asgi_middleware_answers_503_when_the_store_fails_while_saving() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with TestClient(SessionMiddleware(CounterApp(), driver="redis", url=url)) as client:
        response = client.get("/count")
        assert response.status_code == 503
        assert response.headers.get("retry-after") == "5"
        assert client.get("/plain").status_code == 200


def test_the_documented_names_are_the_asgi_wrapper_and_the_app_middleware() -> None:
    assert SessionMiddleware is ASGISessionMiddleware
    assert isinstance(SessionMiddleware(CounterApp()), ASGISessionMiddleware)
    assert isinstance(session(), AppSessionMiddleware)
