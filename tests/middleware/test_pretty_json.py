"""pretty_json(): ?pretty indents JSON answers."""

from __future__ import annotations

from microweb.middleware import pretty_json
from microweb.testing import TestClient

from .conftest import client_with_middleware


def pretty_client() -> TestClient:
    routes = {"/data": lambda c: {"a": [1, 2], "b": "é"}, "/text": lambda c: "plain"}
    return client_with_middleware(pretty_json(), routes=routes)


def test_pretty_query_indents_json() -> None:
    response = pretty_client().get("/data?pretty")
    assert response.text == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "é"\n}'
    assert int(response.headers["content-length"]) == len(response.content)


def test_without_the_query_json_stays_compact() -> None:
    assert pretty_client().get("/data").text == '{"a":[1,2],"b":"é"}'


def test_pretty_leaves_other_types_alone() -> None:
    assert pretty_client().get("/text?pretty").text == "plain"
