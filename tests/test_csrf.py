"""CSRF protection: the token check, the origin check, exclusions and `csrf_field`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from microweb import MicroWeb, csrf, csrf_field, login, session
from microweb.context import Context
from microweb.csrf_protection import csrf_token
from microweb.testing import TestClient

PARTNER = "https://partner.example"


class App:
    """The app under test and the list of handler runs it records."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.app = app = MicroWeb()
        app.use(session())
        app.use(csrf(exclude=("/webhooks/*",), trusted_origins=(PARTNER,)))

        @app.get("/token")
        async def token(c: Context) -> dict[str, str]:
            return {"token": c.get("session").token()}

        @app.get("/masked")
        async def masked(c: Context) -> dict[str, str]:
            return {"token": csrf_token(c)}

        @app.get("/form")
        async def form(c: Context) -> Any:
            return c.html(f'<form method="post" action="/action">{csrf_field(c)}</form>')

        @app.on(["GET", "OPTIONS"], "/safe")
        async def safe(c: Context) -> str:
            self.calls.append(c.req.method)
            return "safe"

        @app.on(["POST", "PUT", "PATCH", "DELETE"], "/action")
        async def action(c: Context) -> str:
            self.calls.append(c.req.method + " /action")
            return "done"

        @app.post("/webhooks/*")
        async def webhook(c: Context) -> str:
            self.calls.append("webhook " + c.req.path)
            return "hooked"

        @app.post("/webhooksx")
        async def not_a_webhook(c: Context) -> str:
            self.calls.append("webhooksx")
            return "hooked"

        @app.post("/login")
        async def do_login(c: Context) -> str:
            await login(c, "alice")
            return "in"


@pytest.fixture
def site() -> App:
    return App()


@pytest.fixture
def client(site: App) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        yield client


@pytest.fixture
def other_client(site: App, client: TestClient) -> Iterator[TestClient]:
    """A second browser with its own session (memory store), no lifespan of its own."""
    other = TestClient(site.app)
    yield other
    other.close()


def raw_token(client: TestClient) -> str:
    token: str = client.get("/token").json()["token"]
    return token


def field_token(client: TestClient) -> str:
    match = re.search(r'name="_token" value="([^"]+)"', client.get("/form").text)
    assert match is not None
    return match.group(1)


class InputParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))


# -- safe methods ----------------------------------------------------------------


def test_get_passes_without_a_token(client: TestClient, site: App) -> None:
    assert client.get("/safe").status_code == 200
    assert site.calls == ["GET"]


def test_head_passes_without_a_token(client: TestClient, site: App) -> None:
    assert client.head("/safe").status_code == 200
    assert site.calls == ["HEAD"]


def test_options_passes_without_a_token(client: TestClient, site: App) -> None:
    assert client.options("/safe").status_code == 200
    assert site.calls == ["OPTIONS"]


# -- missing and wrong tokens ------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_method_without_a_token_is_403_and_the_handler_never_runs(
    client: TestClient, site: App, method: str
) -> None:
    raw_token(client)  # a session with a token exists; the request just lacks it
    response = client.request(method, "/action")
    assert response.status_code == 403
    assert site.calls == []


def test_post_without_any_session_is_403(client: TestClient, site: App) -> None:
    response = client.post("/action", form={"name": "x"})
    assert response.status_code == 403
    assert site.calls == []


def test_missing_token_message_says_what_is_missing_and_where_it_goes(
    client: TestClient,
) -> None:
    response = client.post("/action")
    assert response.text == "CSRF token missing: send it in X-CSRF-Token or the _token field"


def test_wrong_token_is_403_with_a_mismatch_message(client: TestClient, site: App) -> None:
    raw_token(client)
    response = client.post("/action", headers={"x-csrf-token": "not-the-token"})
    assert response.status_code == 403
    assert "CSRF token mismatch" in response.text
    assert site.calls == []


def test_403_is_json_for_json_clients(client: TestClient) -> None:
    response = client.post("/action", headers={"accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert "CSRF token missing" in response.json()["error"]


def test_empty_token_header_is_refused(client: TestClient, site: App) -> None:
    raw_token(client)
    assert client.post("/action", headers={"x-csrf-token": ""}).status_code == 403
    assert site.calls == []


def test_token_from_another_session_fails(
    client: TestClient, other_client: TestClient, site: App
) -> None:
    mine = raw_token(client)
    raw_token(other_client)
    response = other_client.post("/action", headers={"x-csrf-token": mine})
    assert response.status_code == 403
    assert site.calls == []


def test_masked_token_from_another_session_fails(
    client: TestClient, other_client: TestClient, site: App
) -> None:
    mine = field_token(client)
    field_token(other_client)
    response = other_client.post("/action", form={"_token": mine})
    assert response.status_code == 403
    assert site.calls == []


def test_bad_json_body_is_a_403_not_a_500(client: TestClient, site: App) -> None:
    raw_token(client)
    response = client.post(
        "/action", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 403
    assert site.calls == []


@pytest.mark.parametrize(
    "candidate", ["\ud800", "\udc00" + "a" * 40, "\u00e9", "\U0001f600", "\u0663" * 43]
)
def test_a_json_token_that_is_not_ascii_is_a_403_not_a_500(
    client: TestClient, site: App, candidate: str
) -> None:
    raw_token(client)
    body = json.dumps({"_token": candidate})  # \\uXXXX escapes: a lone surrogate once parsed

    response = client.post("/action", content=body, headers={"content-type": "application/json"})

    assert (response.status_code, response.text) == (
        403,
        "CSRF token mismatch: reload the page and try again",
    )
    assert site.calls == []


# -- where the token may come from ---------------------------------------------------


@pytest.mark.parametrize("header", ["X-CSRF-Token", "X-XSRF-Token"])
def test_token_in_a_header_passes(client: TestClient, site: App, header: str) -> None:
    response = client.post("/action", headers={header: raw_token(client)})
    assert (response.status_code, response.text) == (200, "done")
    assert site.calls == ["POST /action"]


def test_token_in_an_urlencoded_form_field_passes(client: TestClient, site: App) -> None:
    response = client.post("/action", form={"_token": field_token(client), "name": "x"})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_token_in_a_multipart_form_field_passes(client: TestClient, site: App) -> None:
    form = {"_token": field_token(client), "upload": ("a.txt", b"hello", "text/plain")}
    response = client.post("/action", form=form)
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_token_in_a_json_body_passes(client: TestClient, site: App) -> None:
    response = client.post("/action", json={"_token": raw_token(client), "name": "x"})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/vnd.api+json"],
)
def test_token_in_a_json_body_with_another_json_content_type_passes(
    client: TestClient, site: App, content_type: str
) -> None:
    body = json.dumps({"_token": raw_token(client)})
    response = client.post("/action", content=body, headers={"content-type": content_type})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_token_in_a_form_with_a_charset_passes(client: TestClient, site: App) -> None:
    content_type = "application/x-www-form-urlencoded; charset=UTF-8"
    body = "name=x&_token=" + field_token(client)
    response = client.post("/action", content=body, headers={"content-type": content_type})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_unsafe_methods_pass_with_the_token(
    client: TestClient, site: App, method: str
) -> None:
    response = client.request(method, "/action", headers={"x-csrf-token": raw_token(client)})
    assert response.status_code == 200
    assert site.calls == [method + " /action"]


def test_masked_tokens_differ_on_each_call_yet_all_verify(client: TestClient, site: App) -> None:
    tokens = [field_token(client) for _ in range(3)]
    tokens.append(client.get("/masked").json()["token"])
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert client.post("/action", form={"_token": token}).status_code == 200
    assert len(site.calls) == len(tokens)


def test_masked_tokens_never_contain_the_raw_token(client: TestClient) -> None:
    secret = raw_token(client)
    page = client.get("/form").text
    assert secret not in page


def test_unmasked_raw_session_token_verifies(client: TestClient, site: App) -> None:
    response = client.post("/action", form={"_token": raw_token(client)})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_token_stays_valid_across_requests(client: TestClient) -> None:
    token = field_token(client)
    for _ in range(3):
        assert client.post("/action", headers={"x-csrf-token": token}).status_code == 200


# -- excluded paths ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/x", "/webhooks", "/webhooks/a/b"])
def test_excluded_paths_pass_without_a_token(client: TestClient, site: App, path: str) -> None:
    response = client.post(path, content=b"{}")
    assert (response.status_code, response.text) == (200, "hooked")
    assert site.calls == ["webhook " + path]


def test_exclusion_does_not_reach_paths_that_only_share_a_prefix(
    client: TestClient, site: App
) -> None:
    assert client.post("/webhooksx").status_code == 403
    assert site.calls == []


# -- origin checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["https://testserver", "https://TestServer", "https://testserver:443"]
)
def test_same_origin_header_passes(client: TestClient, site: App, origin: str) -> None:
    token = raw_token(client)
    response = client.post("/action", headers={"x-csrf-token": token, "origin": origin})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://testserver", "https://testserver:8443", "null"]
)
def test_origin_mismatch_is_403_even_with_a_valid_token(
    client: TestClient, site: App, origin: str
) -> None:
    token = raw_token(client)
    response = client.post("/action", headers={"x-csrf-token": token, "origin": origin})
    assert response.status_code == 403
    assert "Cross-origin request refused" in response.text
    assert site.calls == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("Application/X-WWW-Form-Urlencoded", "name=x&_token={token}"),
        ("APPLICATION/JSON", '{{"_token": "{token}"}}'),
        (
            "Multipart/Form-Data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="_token"\r\n\r\n{token}\r\n--b--\r\n',
        ),
    ],
)
def test_content_type_is_read_case_insensitively_for_the_token_and_never_skips_the_origin_check(
    client: TestClient, site: App, content_type: str, body: str
) -> None:
    # Hono's csrf() matched form content types case-sensitively, so `Application/...`
    # from another site skipped its origin check. Here the origin check does not look at
    # the content type at all, and the token is found whatever the case.
    content = body.format(token=raw_token(client))
    headers = {"content-type": content_type}

    cross = client.post(
        "/action", content=content, headers={**headers, "origin": "https://evil.example"}
    )
    same = client.post("/action", content=content, headers=headers)

    assert cross.status_code == 403
    assert "Cross-origin request refused" in cross.text
    assert (same.status_code, same.text) == (200, "done")
    assert site.calls == ["POST /action"]


def test_trusted_origin_passes(client: TestClient, site: App) -> None:
    token = raw_token(client)
    response = client.post("/action", headers={"x-csrf-token": token, "origin": PARTNER})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_trusted_origin_still_needs_the_token(client: TestClient, site: App) -> None:
    raw_token(client)
    assert client.post("/action", headers={"origin": PARTNER}).status_code == 403
    assert site.calls == []


def test_sec_fetch_site_cross_site_is_403_even_with_a_valid_token(
    client: TestClient, site: App
) -> None:
    token = raw_token(client)
    response = client.post(
        "/action", headers={"x-csrf-token": token, "sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 403
    assert response.text == "Cross-site request refused (Sec-Fetch-Site: cross-site)"
    assert site.calls == []


def test_sec_fetch_site_same_site_is_403_without_a_trusted_origin(
    client: TestClient, site: App
) -> None:
    token = raw_token(client)
    headers = {"x-csrf-token": token, "sec-fetch-site": "same-site"}
    assert client.post("/action", headers=headers).status_code == 403
    assert site.calls == []


@pytest.mark.parametrize("fetch_site", ["same-origin", "none"])
def test_sec_fetch_site_same_origin_passes(client: TestClient, site: App, fetch_site: str) -> None:
    token = raw_token(client)
    response = client.post("/action", headers={"x-csrf-token": token, "sec-fetch-site": fetch_site})
    assert response.status_code == 200
    assert site.calls == ["POST /action"]


def test_sec_fetch_site_cross_site_from_a_trusted_origin_passes(
    client: TestClient, site: App
) -> None:
    token = raw_token(client)
    headers = {"x-csrf-token": token, "sec-fetch-site": "cross-site", "origin": PARTNER}
    assert client.post("/action", headers=headers).status_code == 200
    assert site.calls == ["POST /action"]


def test_trusted_origins_must_be_full_origins() -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        csrf(trusted_origins=("partner.example",))


# -- login rotates the token ---------------------------------------------------------


def test_pre_login_token_fails_after_login(client: TestClient, site: App) -> None:
    before = raw_token(client)
    masked_before = field_token(client)
    assert client.post("/login", headers={"x-csrf-token": before}).text == "in"

    assert client.post("/action", headers={"x-csrf-token": before}).status_code == 403
    assert client.post("/action", form={"_token": masked_before}).status_code == 403
    assert site.calls == []
    after = raw_token(client)
    assert after != before
    assert client.post("/action", headers={"x-csrf-token": after}).status_code == 200


# -- csrf_field ----------------------------------------------------------------------


def test_csrf_field_is_a_hidden_input_named_token(client: TestClient) -> None:
    parser = InputParser()
    parser.feed(client.get("/form").text)
    [field] = parser.inputs
    assert field["type"] == "hidden"
    assert field["name"] == "_token"
    assert field["value"]


def test_csrf_field_value_as_a_browser_reads_it_passes_the_check(
    client: TestClient, site: App
) -> None:
    # The value is HTML-escaped in the page; what a browser submits is the unescaped text.
    parser = InputParser()
    parser.feed(client.get("/form").text)
    [field] = parser.inputs
    answer = client.post("/action", form={"_token": field["value"] or ""})
    assert answer.status_code == 200
    assert site.calls == ["POST /action"]


def test_refusing_an_origin_that_cors_allows_says_to_trust_it_in_csrf_too() -> None:
    from microweb.middleware import cors

    app = MicroWeb()
    app.use(session(), csrf())
    app.use("/api/*", cors(origin="https://app.example", credentials=True))
    app.post("/api/notes", lambda c: "saved")
    app.post("/other", lambda c: "saved")

    with TestClient(app) as client:
        api = client.post("/api/notes", headers={"origin": "https://app.example"})
        other = client.post("/other", headers={"origin": "https://app.example"})
        foreign = client.post("/api/notes", headers={"origin": "https://evil.example"})

    assert api.status_code == 403
    assert "cors() allows it, add it to csrf(trusted_origins=...)" in api.text
    assert "cors()" not in other.text  # no cors() on that path
    assert "cors()" not in foreign.text  # cors() does not allow that origin either


@pytest.mark.parametrize("listed", ["https://Partner.example:443", "https://partner.example/"])
def test_a_trusted_origin_is_the_same_origin_however_it_is_written(listed: str) -> None:
    app = MicroWeb()
    app.use(session())
    app.use(csrf(trusted_origins=(listed,)))
    app.post("/action", lambda c: "done")
    client = TestClient(app)
    token = client.csrf_token()
    headers = {
        "x-csrf-token": token,
        "sec-fetch-site": "cross-site",
        "origin": "https://partner.example",
    }
    assert client.post("/action", headers=headers).text == "done"
