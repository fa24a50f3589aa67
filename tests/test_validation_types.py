"""`validator` with typing constructs beside models: TypedDicts, lists of models, ISO dates."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, TypedDict

from microweb import MicroWeb, validator
from microweb.testing import TestClient


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Meeting:
    title: str
    day: datetime.date
    starts: datetime.datetime | None = None


def client_for(target: str, schema: Any) -> TestClient:
    app = MicroWeb()

    @app.post("/check", validator(target, schema))
    async def check(c: Any) -> Any:
        value = c.req.valid(target)
        return {"type": type(value).__name__, "repr": repr(value)}

    return TestClient(app)


def test_a_typed_dict_body_is_checked_key_by_key() -> None:
    client = client_for("json", Point)
    assert client.post("/check", json={"x": 1, "y": 2}).json()["type"] == "dict"
    bad = client.post("/check", json={"x": "one"})
    assert bad.status_code == 400
    assert {i["field"] for i in bad.json()["issues"]} == {"x", "y"}


def test_a_list_of_dataclasses_body_converts_each_item() -> None:
    client = client_for("json", list[Meeting])
    good = client.post("/check", json=[{"title": "standup", "day": "2026-12-07"}])
    assert good.status_code == 200
    assert "datetime.date(2026, 12, 7)" in good.json()["repr"]
    bad = client.post("/check", json=[{"title": "x", "day": "someday"}])
    assert bad.status_code == 400
    assert bad.json()["issues"] == [{"field": "0.day", "message": "expected an ISO 8601 date"}]


def test_dates_and_times_come_as_iso_strings_in_a_query() -> None:
    client = client_for("query", Meeting)
    good = client.post("/check?title=t&day=2026-12-07&starts=2026-12-07T09:30:00")
    assert "datetime.datetime(2026, 12, 7, 9, 30)" in good.json()["repr"]
