"""validator() and c.req.valid(): every target, every schema kind, and the error body."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import msgspec
import pydantic
import pytest

from microweb import HTTPException, MicroWeb, validator
from microweb.testing import TestClient
from microweb.validation import ValidationError

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Address:
    city: str
    zip: str


@dataclasses.dataclass
class User:
    name: str
    age: int
    tags: list[str] = dataclasses.field(default_factory=list)
    address: Address | None = None
    role: Literal["admin", "user"] = "user"


class PUser(pydantic.BaseModel):
    name: str
    age: int


class MUser(msgspec.Struct):
    name: str
    age: int


def app_for(target: str, schema: Any, path: str = "/x") -> TestClient:
    app = MicroWeb()

    @app.post(path, validator(target, schema))
    async def post(c):  # type: ignore[no-untyped-def]
        value = c.req.valid(target)
        return {
            "value": dataclasses.asdict(value)
            if dataclasses.is_dataclass(value)
            else value.model_dump()
            if isinstance(value, pydantic.BaseModel)
            else msgspec.to_builtins(value),
            "type": type(value).__name__,
        }

    app.get(path, validator(target, schema), post)
    return TestClient(app)


def issues(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Validation failed"
    return {issue["field"]: issue["message"] for issue in body["issues"]}


# -- json ------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [User, PUser, MUser], ids=["dataclass", "pydantic", "msgspec"])
def test_valid_json_reaches_the_handler_as_the_schema_type(schema: Any) -> None:
    response = app_for("json", schema).post("/x", json={"name": "ann", "age": 30})
    assert response.status_code == 200
    assert response.json()["type"] == schema.__name__
    assert response.json()["value"]["age"] == 30


@pytest.mark.parametrize("schema", [User, PUser, MUser], ids=["dataclass", "pydantic", "msgspec"])
def test_invalid_json_is_400_listing_the_field(schema: Any) -> None:
    problems = issues(app_for("json", schema).post("/x", json={"name": "ann", "age": "old"}))
    assert "age" in problems


def test_dataclass_reports_every_problem_with_dotted_fields() -> None:
    response = app_for("json", User).post(
        "/x",
        json={"age": 1.5, "tags": ["a", 2], "address": {"city": "X"}, "role": "root"},
    )
    problems = issues(response)
    assert problems == {
        "name": "field required",
        "age": "expected an integer",
        "tags.1": "expected a string",
        "address.zip": "field required",
        "role": "expected one of ['admin', 'user']",
    }


def test_nested_dataclass_and_defaults_are_built() -> None:
    response = app_for("json", User).post(
        "/x", json={"name": "a", "age": 1, "address": {"city": "c", "zip": "z"}, "extra": 1}
    )
    assert response.json()["value"] == {
        "name": "a",
        "age": 1,
        "tags": [],
        "address": {"city": "c", "zip": "z"},
        "role": "user",
    }


def test_json_must_be_an_object_for_a_model() -> None:
    assert issues(app_for("json", User).post("/x", json=[1, 2])) == {"": "expected an object"}


def test_a_body_that_is_not_json_is_the_usual_400() -> None:
    response = app_for("json", User).post(
        "/x", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in response.text


def test_a_json_validator_needs_a_json_content_type() -> None:
    response = app_for("json", User).post("/x", content=b'{"name":"a","age":1}')
    assert "Content-Type: application/json" in issues(response)[""]


# -- string targets --------------------------------------------------------------------


@dataclasses.dataclass
class Page:
    page: int
    q: str = ""
    tag: list[str] = dataclasses.field(default_factory=list)
    draft: bool = False


def test_query_strings_are_converted_and_repeated_names_are_lists() -> None:
    response = app_for("query", Page).get("/x?page=2&tag=a&tag=b&draft=true")
    assert response.json()["value"] == {"page": 2, "q": "", "tag": ["a", "b"], "draft": True}


def test_query_conversion_errors_name_the_field() -> None:
    assert issues(app_for("query", Page).get("/x?page=two")) == {"page": "expected an integer"}


@pytest.mark.parametrize("schema", [PUser, MUser], ids=["pydantic", "msgspec"])
def test_models_convert_query_strings_too(schema: Any) -> None:
    assert app_for("query", schema).get("/x?name=a&age=3").json()["value"] == {
        "name": "a",
        "age": 3,
    }


def test_form_target() -> None:
    response = app_for("form", Page).post("/x", form={"page": "5", "q": "hi"})
    assert response.json()["value"]["page"] == 5


@dataclasses.dataclass
class Item:
    id: int


def test_param_target() -> None:
    client = app_for("param", Item, path="/items/:id")
    assert client.get("/items/7").json()["value"] == {"id": 7}
    assert issues(client.get("/items/x")) == {"id": "expected an integer"}


@dataclasses.dataclass
class Headers:
    x_api_version: int = 0


def test_header_and_cookie_targets() -> None:
    def version(headers: dict[str, Any]) -> int:
        return int(headers["x-api-version"])

    assert app_for("header", version).get("/x", headers={"x-api-version": "3"}).json()["value"] == 3

    @dataclasses.dataclass
    class Prefs:
        theme: str

    client = app_for("cookie", Prefs)
    assert client.get("/x", headers={"cookie": "theme=dark"}).json()["value"] == {"theme": "dark"}
    assert issues(client.get("/x")) == {"theme": "field required"}


def test_a_callable_schema_and_its_errors() -> None:
    def positive(value: Any) -> int:
        number = int(value["n"])
        if number <= 0:
            raise ValueError("n must be positive")
        return number

    client = app_for("json", positive)
    assert client.post("/x", json={"n": 4}).json()["value"] == 4
    assert issues(client.post("/x", json={"n": -1})) == {"": "n must be positive"}
    assert issues(client.post("/x", json={"n": "x"}))[""].startswith("invalid literal")


@dataclasses.dataclass
class Priced:
    price: float
    count: int = 0


def test_a_float_field_given_an_integer_past_the_float_range_is_a_400() -> None:
    body = b'{"price": 1' + b"0" * 400 + b"}"

    response = app_for("json", Priced).post(
        "/x", content=body, headers={"content-type": "application/json"}
    )

    assert issues(response) == {"price": "number out of range"}


def test_a_callable_schema_that_overflows_is_a_400() -> None:
    response = app_for("json", lambda value: float(value["n"])).post(
        "/x", content=b'{"n": 1' + b"0" * 400 + b"}", headers={"content-type": "application/json"}
    )

    assert issues(response) == {"": "int too large to convert to float"}


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("price=1e999", "number out of range"),
        ("price=inf", "expected a number"),
        ("price=nan", "expected a number"),
        ("price=%C2%B2", "expected a number"),  # superscript two
        ("count=%D9%A3", "expected an integer"),  # Arabic-Indic three
        ("count=%EF%BC%94", "expected an integer"),  # fullwidth four
        ("count=4_2", "expected an integer"),
        ("count=" + "9" * 5000, "number out of range"),
    ],
)
def test_numbers_in_strings_are_ascii_and_finite(query: str, problem: str) -> None:
    field = query.partition("=")[0]
    extra = "" if field == "price" else "&price=1"

    response = app_for("query", Priced).get(f"/x?{query}{extra}")

    assert issues(response) == {field: problem}


def test_numbers_in_strings_with_a_sign_a_point_or_an_exponent_convert() -> None:
    response = app_for("query", Priced).get("/x?price=-2.5e2&count=%2B7")

    assert response.json()["value"] == {"price": -250.0, "count": 7}


def test_two_validators_on_one_route() -> None:
    app = MicroWeb()

    @app.post("/search", validator("query", Page), validator("json", Item))
    async def search(c):  # type: ignore[no-untyped-def]
        return {"page": c.req.valid("query", Page).page, "id": c.req.valid("json", Item).id}

    assert TestClient(app).post("/search?page=3", json={"id": 9}).json() == {"page": 3, "id": 9}


def test_valid_without_a_validator_says_so() -> None:
    app = MicroWeb()

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        with pytest.raises(RuntimeError, match="validator"):
            c.req.valid("json")
        return "checked"

    assert TestClient(app).get("/").text == "checked"


def test_bad_targets_and_schemas_are_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="target"):
        validator("body", User)
    with pytest.raises(ValueError, match="not a model"):
        validator("json", 42)  # type: ignore[arg-type]


def test_import_microweb_and_a_dataclass_schema_load_neither_pydantic_nor_msgspec() -> None:
    code = (
        "import sys, dataclasses\n"
        "from microweb import MicroWeb, validator\n"
        "@dataclasses.dataclass\nclass A:\n    x: int\n"
        "app = MicroWeb()\napp.post('/', validator('json', A), lambda c: 'ok')\n"
        "print(sorted(m for m in ('pydantic', 'msgspec') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_valid_with_a_schema_is_typed_for_mypy(tmp_path: Path) -> None:
    snippet = tmp_path / "typed.py"
    snippet.write_text(
        "import dataclasses\n"
        "from microweb import MicroWeb, validator\n"
        "from microweb.context import Context\n"
        "@dataclasses.dataclass\nclass A:\n    x: int\n"
        "app = MicroWeb()\n"
        "@app.post('/', validator('json', A))\n"
        "async def h(c: Context) -> str:\n"
        "    a = c.req.valid('json', A)\n"
        "    n: int = a.x\n"
        "    typed: A = c.req.valid('json')\n"
        "    print(a.nope)\n"
        "    return str(n + typed.x)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert '"A" has no attribute "nope"' in out.stdout, out.stdout
    assert out.stdout.count("error:") == 1, out.stdout


@dataclasses.dataclass
class Signup:
    email: str
    age: int


def signup_app() -> MicroWeb:
    app = MicroWeb()

    @app.post("/signup", validator("json", Signup))
    async def signup(c: Any) -> str:
        return "welcome"

    return app


def test_a_validation_failure_reaches_on_error_as_an_http_exception() -> None:
    app = signup_app()
    seen: list[Any] = []

    @app.on_error
    async def on_error(err: Exception, c: Any) -> Any:
        seen.append(err)
        assert isinstance(err, HTTPException) and isinstance(err, ValidationError)
        return c.json({"problem": [i["field"] for i in err.issues]}, status=err.status)

    response = TestClient(app).post("/signup", json={"email": "a@b.example", "age": "old"})
    assert (response.status_code, response.json()) == (400, {"problem": ["age"]})
    assert len(seen) == 1


def test_without_on_error_a_validation_failure_is_its_json_400() -> None:
    response = TestClient(signup_app()).post("/signup", json={"email": "a@b.example"})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed"
    assert response.json()["target"] == "json"
    assert [issue["field"] for issue in response.json()["issues"]] == ["age"]


def test_an_on_error_that_returns_none_leaves_the_json_400() -> None:
    app = signup_app()
    app.on_error(lambda err, c: None)
    response = TestClient(app).post("/signup", json={"email": "a@b.example"})
    assert response.status_code == 400
    assert response.json()["target"] == "json"
