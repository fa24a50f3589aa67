"""cors(): Hono's cors cases, Starlette's, and the pitfalls they had."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.context import Context
from microweb.middleware import cors
from microweb.testing import TestClient

from .conftest import MwClient

ORIGIN = "https://app.example"


def make(**options: object) -> TestClient:
    app = MicroWeb()
    app.use("/api/*", cors(**options))  # type: ignore[arg-type]

    @app.get("/api/data")
    async def data(c):  # type: ignore[no-untyped-def]
        return {"ok": True}

    @app.options("/api/data")
    async def options(c):  # type: ignore[no-untyped-def]
        return c.text("the route's own OPTIONS")

    @app.get("/api/cookie")
    async def cookie(c):  # type: ignore[no-untyped-def]
        c.header("vary", "Cookie")
        return c.text("varies by cookie")

    return TestClient(app)


def test_default_allows_any_origin_with_a_star() -> None:
    response = make().get("/api/data", headers={"origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers


def test_one_allowed_origin_is_echoed_with_vary_origin() -> None:
    response = make(origin=ORIGIN).get("/api/data", headers={"origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"


def test_a_disallowed_origin_is_never_reflected() -> None:
    response = make(origin=[ORIGIN, "https://b.example"]).get(
        "/api/data", headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_origin_list_echoes_the_matching_one() -> None:
    client = make(origin=[ORIGIN, "https://b.example"])
    answer = client.get("/api/data", headers={"origin": "https://b.example"})
    assert answer.headers["access-control-allow-origin"] == "https://b.example"


def test_callable_origin_decides() -> None:
    client = make(origin=lambda origin, c: origin if origin.endswith(".example") else None)
    assert (
        client.get("/api/data", headers={"origin": ORIGIN}).headers["access-control-allow-origin"]
        == ORIGIN
    )
    assert (
        "access-control-allow-origin"
        not in client.get("/api/data", headers={"origin": "https://example.evil"}).headers
    )


def test_star_with_credentials_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="credentials"):
        cors(origin="*", credentials=True)


def test_a_malformed_origin_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="not an origin"):
        cors(origin="app.example/path")


def test_vary_is_appended_not_overwritten() -> None:
    response = make(origin=ORIGIN).get("/api/cookie", headers={"origin": ORIGIN})
    assert response.headers["vary"] == "Cookie, Origin"


def test_preflight_is_answered_204_without_the_route() -> None:
    response = make(origin=ORIGIN, max_age=600, credentials=True).options(
        "/api/data",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "PUT",
            "access-control-request-headers": "X-Token, Content-Type",
        },
    )
    assert response.status_code == 204
    assert response.text == ""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, PUT, POST, DELETE, PATCH"
    assert response.headers["access-control-allow-headers"] == "X-Token, Content-Type"
    assert response.headers["access-control-max-age"] == "600"


def test_preflight_with_fixed_allow_headers_does_not_echo() -> None:
    response = make(allow_headers=("X-Token",), allow_methods=("GET", "POST")).options(
        "/api/data",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "X-Other",
        },
    )
    assert response.headers["access-control-allow-headers"] == "X-Token"
    assert response.headers["access-control-allow-methods"] == "GET, POST"


def test_preflight_from_a_disallowed_origin_grants_nothing() -> None:
    response = make(origin=ORIGIN).options(
        "/api/data",
        headers={"origin": "https://evil.example", "access-control-request-method": "PUT"},
    )
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


def test_options_without_request_method_is_not_a_preflight_and_reaches_the_route() -> None:
    response = make(origin=ORIGIN).options("/api/data", headers={"origin": ORIGIN})
    assert response.status_code == 200
    assert response.text == "the route's own OPTIONS"
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_expose_headers_and_credentials_on_simple_requests() -> None:
    response = make(origin=ORIGIN, expose_headers=("X-Total",), credentials=True).get(
        "/api/data", headers={"origin": ORIGIN}
    )
    assert response.headers["access-control-expose-headers"] == "X-Total"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_requests_without_origin_get_no_allow_origin_for_a_list() -> None:
    response = make(origin=ORIGIN).get("/api/data")
    assert "access-control-allow-origin" not in response.headers


async def partner_origins(origin: str, c: Context) -> str | None:
    await asyncio.sleep(0)
    return origin if origin.endswith(".partner.example") else None


def test_an_async_origin_function_is_awaited(mw_client: MwClient) -> None:
    client = mw_client(cors(origin=partner_origins))
    allowed = client.get("/", headers={"origin": "https://a.partner.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://a.partner.example"
    refused = client.get("/", headers={"origin": "https://evil.example"})
    assert refused.status_code == 200
    assert "access-control-allow-origin" not in refused.headers


def test_an_async_origin_function_answers_preflights(mw_client: MwClient) -> None:
    response = mw_client(cors(origin=partner_origins)).options(
        "/", headers={"origin": "https://a.partner.example", "access-control-request-method": "PUT"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://a.partner.example"


@pytest.mark.parametrize(
    ("listed", "sent"),
    [
        ("https://App.example", "https://app.example"),
        ("https://b.example:443", "https://b.example"),
        ("http://b.example:80", "http://b.example"),
        ("https://app.example/", "https://app.example"),
        ("https://app.example", "https://APP.example:443"),
    ],
)
def test_listed_origins_match_the_same_origin_written_another_way(
    mw_client: MwClient, listed: str, sent: str
) -> None:
    response = mw_client(cors(origin=[listed])).get("/", headers={"origin": sent})
    assert response.headers["access-control-allow-origin"] == sent


def test_another_port_or_scheme_is_another_origin(mw_client: MwClient) -> None:
    client = mw_client(cors(origin="https://app.example"))
    for sent in ("https://app.example:8443", "http://app.example", "https://app.example.evil"):
        assert (
            "access-control-allow-origin" not in client.get("/", headers={"origin": sent}).headers
        )


@pytest.mark.parametrize("max_age", [-1, 1.5, "600", True])
def test_a_max_age_that_is_not_whole_seconds_is_refused_at_startup(max_age: object) -> None:
    with pytest.raises(ValueError, match=r"cors\(\): max_age must be a whole number of seconds"):
        cors(origin=ORIGIN, max_age=max_age)  # type: ignore[arg-type]
