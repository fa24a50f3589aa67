"""The example app's /docs page in a real Chromium, under the app's own CSP.

Swagger UI renders the example's OpenAPI 3.1 document from files the app serves;
"Try it out" signs in through POST /api/login and adds a note through POST /api/notes,
both CSRF-protected (the page fetches the session's token first) and the second
guarded by the session. No CSP violation is reported and nothing outside the app is
requested. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def try_it_out(page: Page, operation_id: str, body: dict[str, object]) -> tuple[str, str]:
    """Expand the operation, fill its JSON body, execute: (status, response body)."""
    block = page.locator(f"#operations-default-{operation_id}")
    block.locator(".opblock-summary").click()
    block.locator(".try-out__btn").click()
    block.locator("textarea.body-param__text").fill(json.dumps(body))
    block.locator(".execute").click()
    row = block.locator(".live-responses-table tbody tr.response").first
    status = row.locator(".response-col_status").inner_text()
    return status.strip(), row.locator(".response-col_description pre").first.inner_text()


def test_try_it_out_signs_in_and_adds_a_note_under_the_csp(
    page: Page, app_url: str, tmp_path: Path
) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(app_url) else outside.append(request.url),
    )

    response = page.goto(app_url + "/docs")
    assert response is not None
    assert "'nonce-" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for()
    assert page.locator(".info .title").inner_text().startswith("microweb example")
    page.screenshot(path=tmp_path / "docs.png", full_page=True)

    status, body = try_it_out(page, "api_login", {"username": "alice", "password": "wonderland"})
    assert status == "200", body
    assert json.loads(body)["user"] == "alice"

    status, body = try_it_out(page, "add_note", {"text": "buy milk", "pinned": True})
    assert status == "201", body
    assert json.loads(body) == {"notes": [{"text": "buy milk", "pinned": True}]}
    page.screenshot(path=tmp_path / "try-it-out.png", full_page=True)

    assert problems == []
    assert outside == []
