"""rate_limit() and ip_restriction() behind a reverse proxy, on a real uvicorn.

Both key on the peer address in the ASGI scope, never on a header (Litestar's
CVE-2025-59152 trusted X-Forwarded-For from anyone). Behind a proxy, uvicorn's
`--proxy-headers --forwarded-allow-ips=<proxy>` puts the client the proxy saw in
that scope, and only for connections from the proxy: the test client plays the
proxy at 127.0.0.1. Without that trust, a forged X-Forwarded-For changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..servers import Server, serve

TARGET = "tests.apps.proxy_app:app"
# Ways to run uvicorn that do not trust the client's X-Forwarded-For: proxy headers off,
# or trusted only from a proxy at another address.
UNTRUSTED = {
    "no-proxy-headers": ("--no-proxy-headers",),
    "other-proxy": ("--proxy-headers", "--forwarded-allow-ips=192.0.2.7"),
}
TRUSTED = ("--proxy-headers", "--forwarded-allow-ips=127.0.0.1")


@pytest.fixture(params=sorted(UNTRUSTED))
def direct(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with serve(TARGET, tmp_path, extra_args=UNTRUSTED[request.param]) as server:
        yield server


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Server]:
    with serve(TARGET, tmp_path, extra_args=TRUSTED) as server:
        yield server


def get(server: Server, path: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return httpx.get(server.url + path, headers=headers, timeout=10)


def test_a_forged_x_forwarded_for_changes_nothing_without_a_trusted_proxy(direct: Server) -> None:
    office = get(direct, "/office", forwarded_for="10.1.2.3")
    who = get(direct, "/whoami", forwarded_for="10.1.2.3")
    # Three "different" clients by their header, one client by its address: one budget.
    limited = [get(direct, "/limited", forwarded_for=f"10.0.0.{i}") for i in (1, 2, 3)]

    assert office.status_code == 403
    assert who.json()["client"] == "127.0.0.1"
    assert [r.status_code for r in limited] == [200, 200, 429]


def test_behind_a_trusted_proxy_rate_limit_and_ip_restriction_key_on_the_real_client(
    proxied: Server,
) -> None:
    office = get(proxied, "/office", forwarded_for="10.1.2.3")
    outside = get(proxied, "/office", forwarded_for="203.0.113.9")
    first = [get(proxied, "/limited", forwarded_for="10.0.0.1") for _ in range(3)]
    second = get(proxied, "/limited", forwarded_for="10.0.0.2")

    assert (office.status_code, office.json()) == (200, {"client": "10.1.2.3"})
    assert outside.status_code == 403
    assert [r.status_code for r in first] == [200, 200, 429]
    assert (second.status_code, second.json()) == (200, {"client": "10.0.0.2"})
