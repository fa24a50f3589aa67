"""`Browser`: one cookie jar per simulated browser, all sending through one TestClient.

Several browsers of one user (a laptop, a phone, an attacker's copy of a cookie)
must share the app's event loop and stores, so they share one `TestClient` and
swap its cookie jar per request.
"""

from __future__ import annotations

from typing import Any

from microweb.testing import CookieJar, TestClient, TestResponse

SESSION_COOKIE = "microweb_session"


class Browser:
    """One browser's cookie jar, sending through a shared TestClient (one event loop)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.jar = CookieJar()

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        saved, self.client.cookies = self.client.cookies, self.jar
        try:
            return self.client.request(method, path, **kwargs)
        finally:
            self.client.cookies = saved

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def replay(self, path: str, cookie: str) -> TestResponse:
        """Send the session `cookie` as is, whatever its Max-Age said (an attacker's copy)."""
        return self.client.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
