"""schemathesis against the example app's JSON API, through ASGI, with its default checks:
no 5xx, statuses, content types and bodies as the document says, valid input accepted,
invalid input refused, guards not ignored.

Every case is sent signed in as alice, with the session's CSRF token (what a client of the
API does); a case that signs out (POST /api/logout) makes the next case sign in again.
Bounded: a fixed number of examples per operation, and no per-example deadline (the
password hash takes its time by design).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from ..test_example_app import COOKIE, load_example

EXAMPLES_PER_OPERATION = 20


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


with environment(SESSION_DRIVER="memory", LOGIN_RATE_LIMIT="100000/minute"):
    example = load_example()

schema = schemathesis.openapi.from_asgi("/openapi.json", example.app).include(path_regex="^/api/")


class SignedInAsAlice:
    """alice's session cookie and its CSRF token, made by signing in through the API."""

    signed_out = True
    data: dict[str, str] = {}

    def get(self, case: Any, ctx: Any) -> dict[str, str]:
        if SignedInAsAlice.signed_out:
            SignedInAsAlice.data = sign_in()
            SignedInAsAlice.signed_out = False
        if case.operation.path == "/api/logout":
            SignedInAsAlice.signed_out = True  # this case ends the session
        return SignedInAsAlice.data

    def set(self, case: Any, data: dict[str, str], ctx: Any) -> None:
        case.cookies = {**(case.cookies or {}), COOKIE: data["cookie"]}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": data["token"]}


def session_cookie(response: Any) -> str:
    match = re.search(rf"{COOKIE}=([^;]+)", response.headers["set-cookie"])
    assert match is not None, response.headers
    return match[1]


def sign_in() -> dict[str, str]:
    with asgi.get_client(example.app) as client:
        base = f"http://{asgi.HOST}"
        first = client.get(base + "/api/csrf-token")
        cookie = session_cookie(first)
        response = client.post(
            base + "/api/login",
            json={"username": "alice", "password": "wonderland"},
            headers={"X-CSRF-Token": first.json()["token"], "Cookie": f"{COOKIE}={cookie}"},
        )
        assert response.status_code == 200, response.text
        return {"cookie": session_cookie(response), "token": response.json()["csrf_token"]}


schema.auth(refresh_interval=None)(SignedInAsAlice)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_json_api_answers_as_its_document_says(case: Any) -> None:
    case.call_and_validate()
