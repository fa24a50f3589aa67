"""The rebuilt example app in a real Chromium: templates, the stylesheet, the CSP and the chat.

The app sends `Content-Security-Policy: default-src 'self'; script-src 'self'
'nonce-…'`, so the only inline script that runs is the one carrying this
request's nonce; the chat page's WebSocket is refused to pages of any other
origin, even one on the same site whose requests carry the session cookie.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from .conftest import page_server
from .test_browser import flash_texts, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "document.documentElement.dataset.injected = 'ran'";
  document.body.append(script);
  return document.documentElement.dataset.injected || null;
}"""


def test_pages_are_styled_by_the_served_stylesheet(page: Page, app_url: str) -> None:
    page.goto(app_url + "/login")
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "640px"
    sheet = page.evaluate("document.styleSheets[0].href")
    assert sheet == app_url + "/static/site.css"


def test_login_flash_is_rendered_once_from_the_template(page: Page, app_url: str) -> None:
    log_in(page, app_url, "alice", "wonderland")
    assert flash_texts(page) == ["Welcome back, Alice!"]
    assert page.evaluate("getComputedStyle(document.querySelector('p.flash')).backgroundColor") == (
        "rgb(221, 255, 221)"
    )
    page.reload()
    assert flash_texts(page) == []


def test_the_nonced_script_runs_and_an_inline_script_without_it_does_not(
    page: Page, app_url: str
) -> None:
    log_in(page, app_url, "bob", "builder")
    response = page.goto(app_url + "/chat")
    assert response is not None
    policy = response.headers["content-security-policy"]
    [nonce] = re.findall(r"'nonce-([^']+)'", policy)
    assert page.evaluate("document.querySelector('script').nonce") == nonce
    expect(page.locator("html")).to_have_attribute("data-chat", "ready")
    assert page.evaluate(INJECT) is None
    assert page.evaluate("document.documentElement.dataset.injected || null") is None
    # The nonce is fresh for every page.
    again = page.goto(app_url + "/chat")
    assert again is not None
    assert nonce not in again.headers["content-security-policy"]


def test_two_users_exchange_a_message_in_the_chat(browser: Browser, app_url: str) -> None:
    alice_context = browser.new_context()
    bob_context = browser.new_context()
    try:
        alice, bob = alice_context.new_page(), bob_context.new_page()
        for page, (user, password) in ((alice, ("alice", "wonderland")), (bob, ("bob", "builder"))):
            page.set_default_timeout(10_000)
            log_in(page, app_url, user, password)
            page.goto(app_url + "/chat")
            expect(page.locator("#status")).to_have_text("Connected")
        expect(alice.locator("#online")).to_have_text("alice, bob")
        alice.fill("#text", "hello bob")
        alice.click("#say button")
        expect(bob.locator("#messages li")).to_have_count(1)
        assert bob.locator("#messages li").inner_text() == "alice: hello bob"
        bob.fill("#text", "<b>hi</b> alice")
        bob.click("#say button")
        expect(alice.locator("#messages li")).to_have_count(2)
        assert alice.locator("#messages li").nth(1).inner_text() == "bob: <b>hi</b> alice"
        assert alice.locator("#messages b").count() == 0
    finally:
        alice_context.close()
        bob_context.close()


def test_logging_out_everywhere_signs_the_chat_out_on_the_other_browser(
    browser: Browser, app_url: str
) -> None:
    phone_context = browser.new_context()
    laptop_context = browser.new_context()
    try:
        phone, laptop = phone_context.new_page(), laptop_context.new_page()
        for page in (phone, laptop):
            page.set_default_timeout(10_000)
            log_in(page, app_url, "bob", "builder")
        phone.goto(app_url + "/chat")
        expect(phone.locator("#status")).to_have_text("Connected")
        laptop.goto(app_url + "/dashboard")
        laptop.click("text=Log out everywhere")
        expect(phone.locator("#status")).to_have_text("Signed out: log in again to chat")
    finally:
        phone_context.close()
        laptop_context.close()


SOCKET_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>pending</title></head><body><script>
const socket = new WebSocket("{target}");
socket.onopen = () => {{ document.title = "open"; }};
socket.onclose = (event) => {{ if (document.title !== "open") document.title = "refused"; }};
</script></body></html>"""


@pytest.fixture
def socket_page_url(app_url: str) -> Iterator[str]:
    """A page on 127.0.0.1 but another port (same site, other origin) that opens the chat socket."""
    body = SOCKET_PAGE.format(target=app_url.replace("http://", "ws://") + "/chat/socket").encode()
    with page_server(body) as port:
        yield f"http://127.0.0.1:{port}/"


def test_a_page_of_another_origin_cannot_open_the_chat_socket(
    page: Page, app_url: str, socket_page_url: str
) -> None:
    log_in(page, app_url, "alice", "wonderland")  # the session cookie is sent same-site
    page.goto(socket_page_url)
    expect(page).not_to_have_title("pending")
    assert page.title() == "refused"
    # The same socket opened by the app's own page works, so the refusal is the Origin check.
    page.goto(app_url + "/chat")
    expect(page.locator("#status")).to_have_text("Connected")
