"""some(), every() and unless(): Hono's combine cases."""

from __future__ import annotations

import asyncio

import pytest

from microweb import ForbiddenError, UnauthorizedError
from microweb.compose import Next
from microweb.context import Context
from microweb.middleware import bearer_auth, every, ip_restriction, some, unless
from microweb.testing import TestClient

from .conftest import client_with_middleware


def client_with(*mw: object) -> TestClient:
    routes = {
        "/": lambda c: c.get("who") or "anyone",
        "/public/page": lambda c: "public",
        "/users/:id": lambda c: "user",
    }
    return client_with_middleware(*mw, routes=routes)


def marker(name: str):  # type: ignore[no-untyped-def]
    async def mw(c: Context, next: Next) -> None:
        c.set("who", (c.get("who") or "") + name)
        await next()

    return mw


async def refuse(c: Context, next: Next) -> None:
    raise UnauthorizedError("no")


def test_some_first_passing_wins_and_the_rest_are_skipped() -> None:
    client = client_with(some(marker("a"), marker("b")))
    assert client.get("/").text == "a"


def test_some_tries_the_next_when_one_raises() -> None:
    client = client_with(some(refuse, marker("b")))
    assert client.get("/").text == "b"


def test_some_raises_the_last_error_when_none_passes() -> None:
    response = client_with(some(refuse, refuse)).get("/")
    assert response.status_code == 401


def test_some_with_a_condition() -> None:
    client = client_with(some(lambda c: c.req.header("x-internal") == "1", bearer_auth(token="t")))
    assert client.get("/", headers={"x-internal": "1"}).status_code == 200
    assert client.get("/", headers={"authorization": "Bearer t"}).status_code == 200
    assert client.get("/").status_code == 401


def test_some_does_not_retry_after_next_was_called() -> None:
    calls: list[str] = []

    async def passes_then_fails(c: Context, next: Next) -> None:
        calls.append("first")
        await next()
        raise ForbiddenError("after")

    async def second(c: Context, next: Next) -> None:
        calls.append("second")
        await next()

    response = client_with(some(passes_then_fails, second)).get("/")
    assert response.status_code == 403
    assert calls == ["first"]


def test_every_runs_all_in_order() -> None:
    assert client_with(every(marker("a"), marker("b"), marker("c"))).get("/").text == "abc"


def test_every_stops_at_a_failure() -> None:
    assert client_with(every(marker("a"), refuse, marker("c"))).get("/").status_code == 401


def test_every_with_a_false_condition_is_403() -> None:
    response = client_with(every(marker("a"), lambda c: False)).get("/")
    assert response.status_code == 403


@pytest.mark.parametrize(("path", "status"), [("/public/page", 200), ("/users/1", 403), ("/", 403)])
def test_unless_skips_the_listed_paths(path: str, status: int) -> None:
    client = client_with(unless(["/public/*"], ip_restriction(allow=["10.0.0.1"])))
    assert client.get(path).status_code == status


def test_unless_with_a_predicate() -> None:
    client = client_with(unless(lambda c: c.req.path == "/", refuse))
    assert client.get("/").status_code == 200
    assert client.get("/users/1").status_code == 401


def test_combinators_need_middleware() -> None:
    with pytest.raises(ValueError, match="at least one"):
        some()


async def is_public(c: Context) -> bool:
    await asyncio.sleep(0)
    return c.req.path.startswith("/public/")


def test_unless_awaits_an_async_predicate() -> None:
    client = client_with(unless(is_public, refuse))
    assert client.get("/public/page").text == "public"
    assert client.get("/").status_code == 401
