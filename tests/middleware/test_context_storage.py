"""context_storage() and get_context(): the current context from anywhere."""

from __future__ import annotations

import pytest

from microweb import MicroWeb
from microweb.middleware import (
    context_storage,
    get_context,
)
from microweb.testing import TestClient


def current_path() -> str:
    return get_context().req.path


def test_get_context_finds_the_request_anywhere_threads_included() -> None:
    app = MicroWeb()
    app.use(context_storage())
    app.get("/async", lambda c: current_path())

    @app.get("/loop")
    async def loop(c):  # type: ignore[no-untyped-def]
        return current_path()

    client = TestClient(app)
    assert client.get("/async").text == "/async"
    assert client.get("/loop").text == "/loop"


def test_get_context_outside_a_request_says_so() -> None:
    with pytest.raises(RuntimeError, match="context_storage"):
        get_context()
