"""examples/app.py in a real Chromium: login, flash, HttpOnly cookie, CSRF, logout.

The app is served over plain http://127.0.0.1 while its session cookie is
Secure: Chromium treats loopback as a secure context and keeps the cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

COOKIE = "microweb_session"


def log_in(page: Page, app_url: str, username: str, password: str) -> None:
    page.goto(app_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def flash_texts(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("p.flash").all_inner_texts()]


def test_anonymous_dashboard_visit_lands_on_the_login_form(page: Page, app_url: str) -> None:
    page.goto(app_url + "/dashboard")
    assert page.url == app_url + "/login"
    assert page.locator("h1").inner_text() == "Log in"
    assert page.locator("form[action='/login'] input[name=username]").count() == 1


def test_wrong_password_shows_the_error(page: Page, app_url: str) -> None:
    log_in(page, app_url, "alice", "not-the-password")
    assert page.url == app_url + "/login"
    assert flash_texts(page) == ["Wrong user name or password."]
    assert page.locator("p.flash.error").count() == 1


def test_login_lands_on_the_dashboard_with_the_welcome_flash(page: Page, app_url: str) -> None:
    log_in(page, app_url, "alice", "wonderland")
    assert page.url == app_url + "/dashboard"
    assert page.locator("h1").inner_text() == "Dashboard of alice"
    assert flash_texts(page) == ["Welcome back, Alice!"]
    assert page.locator("#visits").inner_text() == "Dashboard visits this session: 1"


def test_reload_drops_the_welcome_flash(page: Page, app_url: str) -> None:
    log_in(page, app_url, "alice", "wonderland")
    assert flash_texts(page) == ["Welcome back, Alice!"]
    page.reload()
    assert page.locator("h1").inner_text() == "Dashboard of alice"
    assert flash_texts(page) == []
    assert page.locator("#visits").inner_text() == "Dashboard visits this session: 2"


def test_session_cookie_is_hidden_from_scripts_but_kept_by_the_browser(
    page: Page, app_url: str
) -> None:
    log_in(page, app_url, "bob", "builder")
    assert COOKIE not in page.evaluate("document.cookie")
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True  # kept on http://127.0.0.1: loopback is a secure context
    assert cookie["sameSite"] == "Lax"
    assert cookie["domain"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("attacker_host", "fetch_site"),
    [
        pytest.param("127.0.0.1", "same-site", id="same-host-other-port"),
        pytest.param("localhost", "cross-site", id="other-host"),
    ],
)
def test_cross_site_form_post_is_refused(
    page: Page,
    app_url: str,
    attacker_url: Callable[[str], str],
    attacker_host: str,
    fetch_site: str,
) -> None:
    log_in(page, app_url, "alice", "wonderland")
    with page.expect_response(lambda response: response.url == app_url + "/logout") as posted:
        page.goto(attacker_url(attacker_host))
    response = posted.value
    assert response.request.method == "POST"
    assert response.status == 403
    assert f"Cross-site request refused (Sec-Fetch-Site: {fetch_site})" in response.text()

    page.goto(app_url + "/dashboard")
    assert page.url == app_url + "/dashboard"
    assert page.locator("h1").inner_text() == "Dashboard of alice"


def test_logout_ends_the_session(page: Page, app_url: str) -> None:
    log_in(page, app_url, "bob", "builder")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out", exact=True).click()
    assert page.url == app_url + "/login"
    assert flash_texts(page) == ["You have been logged out."]

    page.goto(app_url + "/dashboard")
    assert page.url == app_url + "/login"
    assert page.locator("h1").inner_text() == "Log in"
