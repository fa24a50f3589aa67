"""Fixtures for the browser suite.

- `app_url`: examples/app.py served by a real uvicorn process (memory sessions)
  on a free port of 127.0.0.1.
- `attacker_url`: a factory serving, from a second local server on another
  port, a page whose form posts itself to the app (a CSRF attempt).
- `browser`: Debian's Chromium driven by Playwright's sync API; `page` is a tab
  in a fresh context (no cookies) per test.

Without /usr/bin/chromium or the playwright package the tests are skipped with
the reason, or fail when `MICROWEB_REQUIRE_BROWSER=1`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from ..servers import serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def no_browser(reason: str) -> None:
    """Skip for `reason`, or fail when MICROWEB_REQUIRE_BROWSER=1."""
    if os.environ.get("MICROWEB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MICROWEB_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        no_browser(f"there is no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        no_browser(f"the playwright package is not installed ({exc})")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            no_browser(f"Chromium at {CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"SESSION_DRIVER": "memory", "LOGIN_RATE_LIMIT": "1000/minute"}
    with serve("examples.app:app", tmp_path_factory.mktemp("uvicorn"), env) as server:
        yield server.url


ATTACKER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Win a prize</title></head><body>
<form id="prize" method="post" action="{target}">
<input type="hidden" name="claim" value="1"></form>
<script>document.getElementById("prize").submit();</script>
</body></html>"""


@contextlib.contextmanager
def page_server(body: bytes) -> Iterator[int]:
    """Serve `body` as an HTML page on 127.0.0.1 (another origin than the app's): the port."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        with contextlib.suppress(RuntimeError):
            thread.join(timeout=5)


@pytest.fixture(scope="module")
def attacker_url(app_url: str) -> Iterator[Callable[[str], str]]:
    """`attacker_url(host)`: the URL, on `host` and another port, of a page that
    auto-submits a form to the app's /logout."""
    with page_server(ATTACKER_PAGE.format(target=app_url + "/logout").encode()) as port:
        yield lambda host: f"http://{host}:{port}/"
