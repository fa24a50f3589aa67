"""ip_restriction(): Hono's cases, its two bypass CVEs, and IPv4-mapped IPv6."""

from __future__ import annotations

import asyncio

import pytest

from microweb import MicroWeb
from microweb.context import Context
from microweb.middleware import ip_restriction
from microweb.testing import call_app

from .conftest import MwClient


def status_for(peer: str, **options: object) -> int:
    app = MicroWeb()
    app.use(ip_restriction(**options))  # type: ignore[arg-type]

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        return "in"

    response = asyncio.run(call_app(app, "GET", "http://testserver/", client=(peer, 1234)))
    return response.status_code


@pytest.mark.parametrize(
    ("peer", "status"),
    [
        ("192.168.1.10", 200),
        ("192.168.2.1", 403),
        ("10.0.0.1", 200),
        ("::1", 200),
        ("2001:db8::1", 403),
    ],
)
def test_allow_list_passes_only_its_members(peer: str, status: int) -> None:
    assert status_for(peer, allow=["192.168.1.0/24", "10.0.0.1", "::1"]) == status


def test_deny_wins_over_allow() -> None:
    assert status_for("10.1.2.3", allow=["10.0.0.0/8"], deny=["10.1.0.0/16"]) == 403
    assert status_for("10.2.2.3", allow=["10.0.0.0/8"], deny=["10.1.0.0/16"]) == 200


def test_deny_only_lets_everything_else_through() -> None:
    assert status_for("8.8.8.8", deny=["1.1.1.1"]) == 200
    assert status_for("1.1.1.1", deny=["1.1.1.1"]) == 403


@pytest.mark.parametrize("peer", ["::ffff:10.0.0.5", "::ffff:a00:5"])
def test_ipv4_mapped_ipv6_counts_as_ipv4(peer: str) -> None:
    assert status_for(peer, deny=["10.0.0.0/8"]) == 403
    assert status_for(peer, allow=["10.0.0.0/8"]) == 200


@pytest.mark.parametrize(
    "peer",
    ["192.168.1.256", "0192.168.001.010", "192.168.1", "1.2.3.4.5", "garbage", "", "::g"],
)
def test_addresses_that_do_not_parse_never_pass_an_allow_list(peer: str) -> None:
    """Hono's CVEs: octets over 255 and odd forms slipped past its own parser."""
    assert status_for(peer, allow=["192.168.1.0/24"]) == 403


def test_non_canonical_ipv6_forms_are_matched_as_the_same_address() -> None:
    for form in ("2001:db8:0:0:0:0:0:1", "2001:0db8::0001", "2001:DB8::1"):
        assert status_for(form, deny=["2001:db8::1"]) == 403


def test_a_header_is_never_trusted_by_default() -> None:
    app = MicroWeb()
    app.use(ip_restriction(allow=["10.0.0.1"]))
    app.get("/", lambda c: "in")
    response = asyncio.run(
        call_app(
            app, "GET", "http://t/", headers={"x-forwarded-for": "10.0.0.1"}, client=("9.9.9.9", 1)
        )
    )
    assert response.status_code == 403


def test_get_ip_can_read_a_proxy_header() -> None:
    app = MicroWeb()
    app.use(ip_restriction(allow=["10.0.0.1"], get_ip=lambda c: c.req.header("x-real-ip")))
    app.get("/", lambda c: "in")
    response = asyncio.run(
        call_app(app, "GET", "http://t/", headers={"x-real-ip": "10.0.0.1"}, client=("9.9.9.9", 1))
    )
    assert response.status_code == 200


@pytest.mark.parametrize("rule", ["10.0.0.0/33", "10.0.0.1/8", "300.1.1.1", "*", "host.example"])
def test_bad_rules_are_refused_at_startup(rule: str) -> None:
    with pytest.raises(ValueError):
        ip_restriction(allow=[rule])


async def forwarded_for(c: Context) -> str | None:
    await asyncio.sleep(0)
    return c.req.header("x-forwarded-for")


def test_an_async_get_ip_is_awaited(mw_client: MwClient) -> None:
    client = mw_client(ip_restriction(allow=["10.0.0.0/8"], get_ip=forwarded_for))
    assert client.get("/", headers={"x-forwarded-for": "10.1.2.3"}).status_code == 200
    assert client.get("/", headers={"x-forwarded-for": "192.0.2.1"}).status_code == 403
    assert client.get("/").status_code == 403  # get_ip found nothing


@pytest.mark.parametrize("peer", [None, ("testclient", 50000)])
def test_a_request_without_a_peer_address_is_refused(
    mw_client: MwClient, peer: tuple[str, int] | None
) -> None:
    response = mw_client(ip_restriction(deny=["192.0.2.0/24"]), client=peer).get("/")
    assert response.status_code == 403
    assert response.text == "Forbidden: the client's address is unknown"
