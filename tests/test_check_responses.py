"""`MicroWeb(check_responses=True)`: a JSON answer that drifts from its declared schema is a
logged 500 naming the route and the field; with the option off nothing is checked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

import pydantic
import pytest

from microweb import HTTPException, MicroWeb
from microweb.testing import TestClient


@dataclass
class Note:
    id: int
    text: str


class Stats(TypedDict):
    notes: int


class Book(pydantic.BaseModel):
    title: str


def drifting_app(check: bool) -> MicroWeb:
    app = MicroWeb(check_responses=check)

    @app.get("/notes/:id", responses={200: Note, 404: None})
    async def show_note(c: Any) -> Any:
        if c.req.param("id") == "missing":
            return c.json({"error": "no such note"}, status=404)
        return {"id": c.req.param("id"), "text": "hello"}  # id should be an int

    @app.get("/good", responses={200: Note})
    async def good(c: Any) -> Any:
        return {"id": 1, "text": "hello"}

    @app.get("/stats")
    async def stats(c: Any) -> Stats:
        return {"notes": "many"}  # type: ignore[typeddict-item]

    @app.get("/books", responses={200: list[Book]})
    def books(c: Any) -> Any:  # a plain def runs off the loop, and is checked as well
        return [{"title": "Dune"}, {"name": "no title"}]

    @app.get("/text", responses={200: Note})
    async def text(c: Any) -> Any:
        return "not JSON at all"

    @app.get("/conflict", responses={409: HTTPException})
    async def conflict(c: Any) -> Any:
        raise HTTPException(409, "taken")

    return app


@pytest.fixture
def checked() -> TestClient:
    return TestClient(drifting_app(check=True))


def refused(client: TestClient, path: str, caplog: pytest.LogCaptureFixture) -> str:
    """What was logged when `path` answered 500."""
    with caplog.at_level(logging.ERROR, logger="microweb"):
        assert client.get(path).status_code == 500
    return caplog.text


def test_a_json_answer_that_drifts_is_a_500_logged_with_the_route_and_field(
    checked: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="microweb"):
        response = checked.get("/notes/7")
    assert response.status_code == 500
    assert "hello" not in response.text
    logged = "\n".join(
        r.getMessage() + "\n" + (str(r.exc_info[1]) if r.exc_info else "") for r in caplog.records
    )
    assert "'show_note' (GET /notes/:id)" in logged
    assert "id: expected an integer" in logged


def test_an_answer_that_matches_passes_untouched(checked: TestClient) -> None:
    response = checked.get("/good")
    assert response.status_code == 200
    assert response.json() == {"id": 1, "text": "hello"}


def test_a_status_declared_without_a_model_is_not_checked(checked: TestClient) -> None:
    assert checked.get("/notes/missing").status_code == 404


def test_a_typed_dict_return_annotation_is_checked(
    checked: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert "notes: expected an integer" in refused(checked, "/stats", caplog)


def test_a_list_of_pydantic_models_is_checked_item_by_item(
    checked: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert "1.title" in refused(checked, "/books", caplog)


def test_a_declared_json_answer_that_is_not_json_is_a_500(
    checked: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert "text/plain" in refused(checked, "/text", caplog)


def test_a_raised_http_exception_stays_the_answer(checked: TestClient) -> None:
    response = checked.get("/conflict")
    assert response.status_code == 409
    assert response.text == "taken"


def test_without_the_option_handlers_are_not_wrapped_and_drift_passes() -> None:
    app = drifting_app(check=False)
    handlers = {r.name: r.fn for r in app.routes if r.is_handler}
    assert handlers["show_note"].__code__.co_name == "show_note"
    assert not hasattr(handlers["show_note"], "__wrapped__")
    with TestClient(app) as client:
        response = client.get("/notes/7")
    assert response.status_code == 200
    assert response.json() == {"id": "7", "text": "hello"}


def test_checked_routes_keep_their_names_for_url_for() -> None:
    app = drifting_app(check=True)
    assert app.url_for("show_note", id=3) == "/notes/3"


def test_routes_copied_from_a_checked_sub_app_are_checked_once() -> None:
    sub = drifting_app(check=True)
    app = MicroWeb(check_responses=True)
    app.route("/sub", sub)
    [route] = [r for r in app.routes if r.name == "good"]
    assert route.fn.__wrapped__.__name__ == "good"  # one wrapper, not two
    with TestClient(app) as client:
        assert client.get("/sub/good").status_code == 200
        assert client.get("/sub/notes/7").status_code == 500
