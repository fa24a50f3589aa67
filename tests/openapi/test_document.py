"""`openapi(app)`: what the document says about routes, validators, guards and responses,
checked against the fixture app that uses every feature, and by openapi-spec-validator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from openapi_spec_validator import validate

from microweb import MicroWeb, validator
from microweb.openapi import openapi

from . import features_app

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi(features_app.app, title="Features", version="2.0")


@pytest.fixture(scope="module")
def doc30() -> dict[str, Any]:
    return openapi(features_app.app, title="Features", version="2.0", dialect="3.0")


def schema_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found


def params(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.1"
    assert doc["info"] == {"title": "Features", "version": "2.0"}
    validate(doc)


def test_the_3_0_dialect_is_valid_openapi_3_0(doc30: dict[str, Any]) -> None:
    assert doc30["openapi"] == "3.0.3"
    validate(doc30)


def test_every_route_is_a_path_in_openapi_syntax(doc: dict[str, Any]) -> None:
    assert set(doc["paths"]) == {
        "/notes",
        "/notes/{id}",
        "/animals",
        "/animals/{type}",
        "/uploads",
        "/shout",
        "/drawings",
        "/owners",
        "/books",
        "/stats",
        "/odd",
        "/admin/stats",
        "/api/keys/{key}",
        "/api/tokens",
        "/api/basic",
        "/api/files/{wildcard}",
        "/v2/ping",
    }
    assert set(doc["paths"]["/notes"]) == {"get", "post"}


def test_a_regex_constraint_becomes_the_parameter_pattern(doc: dict[str, Any]) -> None:
    show = doc["paths"]["/notes/{id}"]["get"]
    # validator("param", NoteId) types it; the pattern stays out of a non-string schema
    assert params(show)[("path", "id")] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    key = doc["paths"]["/api/keys/{key}"]["get"]
    assert params(key)[("path", "key")]["schema"] == {"type": "string"}


def test_an_unvalidated_constrained_param_keeps_its_anchored_pattern() -> None:
    app = MicroWeb()
    app.get("/post/:date{[0-9]{8}}", lambda c: "post", name="post")
    op = openapi(app, title="t", version="1")["paths"]["/post/{date}"]["get"]
    assert params(op)[("path", "date")]["schema"] == {"type": "string", "pattern": "^(?:[0-9]{8})$"}


def test_an_optional_param_gives_both_paths_with_distinct_operation_ids(
    doc: dict[str, Any],
) -> None:
    assert doc["paths"]["/animals"]["get"]["operationId"] == "animals"
    assert "parameters" not in doc["paths"]["/animals"]["get"]
    with_type = doc["paths"]["/animals/{type}"]["get"]
    assert with_type["operationId"] == "animals_type"
    assert params(with_type)[("path", "type")]["required"] is True


def test_a_wildcard_is_a_trailing_path_parameter(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/api/files/{wildcard}"]["get"]
    assert params(op)[("path", "wildcard")]["schema"] == {"type": "string"}


def test_mounts_and_websockets_are_left_out_and_the_mount_is_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="microweb"):
        doc = openapi(features_app.app, title="t", version="1")
    assert not any(p.startswith(("/legacy", "/socket")) for p in doc["paths"])
    [warning] = [r.getMessage() for r in caplog.records if "mounted" in r.getMessage()]
    assert "/legacy/*" in warning


def test_operation_id_is_the_route_name_and_summary_comes_from_the_docstring(
    doc: dict[str, Any],
) -> None:
    create = doc["paths"]["/notes"]["post"]
    assert create["operationId"] == "create_note"
    assert create["summary"] == "Create a note."
    assert create["description"] == "The text is stored as written."
    assert doc["paths"]["/v2/ping"]["get"]["operationId"] == "ping_v2"


def test_operation_ids_are_unique_when_names_repeat() -> None:
    app = MicroWeb()

    async def item(c: Any) -> str:
        return "x"

    app.get(["/a", "/b"], item)
    app.all("/c", item)
    doc = openapi(app, title="t", version="1")
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert ids[:2] == ["item", "item_2"]
    assert "item_get" in ids and "item_delete" in ids
    assert len(ids) == len(set(ids))


def test_tags_come_from_the_option_and_from_the_sub_app_prefix(doc: dict[str, Any]) -> None:
    assert doc["paths"]["/notes"]["get"]["tags"] == ["notes"]
    assert doc["paths"]["/api/basic"]["get"]["tags"] == ["api"]
    assert "tags" not in doc["paths"]["/notes"]["post"]
    assert doc["tags"] == [{"name": "notes"}, {"name": "api"}]


def test_query_header_and_cookie_validators_become_typed_parameters(
    doc: dict[str, Any],
) -> None:
    listed = params(doc["paths"]["/notes"]["get"])
    assert listed[("query", "limit")] == {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "default": 20},
    }
    assert listed[("query", "q")]["schema"] == {"type": ["string", "null"], "default": None}
    assert listed[("query", "tag")]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert listed[("header", "x_request_id")]["required"] is True
    shown = params(doc["paths"]["/notes/{id}"]["get"])
    assert shown[("cookie", "theme")]["schema"] == {
        "enum": ["light", "dark"],
        "type": "string",
        "default": "light",
    }


def test_a_json_validator_is_the_request_body_with_a_shared_component(
    doc: dict[str, Any],
) -> None:
    body = doc["paths"]["/notes"]["post"]["requestBody"]
    assert body == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewNote"}}},
    }
    new_note = schema_of(doc, "NewNote")
    assert new_note["required"] == ["text"]
    assert new_note["description"] == "A note to write."
    assert new_note["properties"]["text"] == {
        "type": "string",
        "description": "What the note says",
    }
    assert new_note["properties"]["color"] == {
        "anyOf": [{"$ref": "#/components/schemas/Color"}, {"type": "null"}],
        "default": None,
    }
    assert schema_of(doc, "Color") == {"title": "Color", "enum": ["red", "blue"], "type": "string"}


def test_a_form_with_a_file_is_multipart_with_a_binary_field(doc: dict[str, Any]) -> None:
    content = doc["paths"]["/uploads"]["post"]["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    upload = schema_of(doc, "Upload")
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"}


def test_a_form_without_files_is_urlencoded_or_multipart() -> None:
    from dataclasses import dataclass

    @dataclass
    class Login:
        name: str

    app = MicroWeb()
    app.post("/login", validator("form", Login), lambda c: "ok", name="login")
    content = openapi(app, title="t", version="1")["paths"]["/login"]["post"]["requestBody"]
    assert list(content["content"]) == ["application/x-www-form-urlencoded", "multipart/form-data"]


def test_a_callable_schema_is_any_value_with_its_docstring(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/shout"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"description": "Any text; it comes back in capitals."}


def test_a_tagged_dataclass_union_is_one_of_with_a_discriminator(doc: dict[str, Any]) -> None:
    shape = schema_of(doc, "Drawing")["properties"]["shape"]
    assert shape == {
        "oneOf": [{"$ref": "#/components/schemas/Circle"}, {"$ref": "#/components/schemas/Square"}],
        "discriminator": {
            "propertyName": "kind",
            "mapping": {
                "circle": "#/components/schemas/Circle",
                "square": "#/components/schemas/Square",
            },
        },
    }


def test_pydantic_models_keep_their_discriminator(doc: dict[str, Any]) -> None:
    owner = schema_of(doc, "Owner")
    pet = owner["properties"]["pet"]
    assert pet["discriminator"] == {
        "propertyName": "pet_type",
        "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"},
    }
    assert {"$ref": "#/components/schemas/Cat"} in pet["oneOf"]
    assert schema_of(doc, "Cat")["required"] == ["pet_type", "meows"]
    response = doc["paths"]["/owners"]["post"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Owner"
    }


def test_msgspec_structs_are_components(doc: dict[str, Any]) -> None:
    book = schema_of(doc, "Book")
    assert book["required"] == ["title"]
    assert book["properties"]["title"] == {"type": "string"}
    ok = doc["paths"]["/books"]["post"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Book"}}


def test_a_typed_dict_response_is_a_component(doc: dict[str, Any]) -> None:
    stats = schema_of(doc, "Stats")
    assert stats["required"] == ["notes", "colors"]
    assert stats["properties"]["colors"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


def test_responses_come_from_the_decorator_and_the_return_annotation(
    doc: dict[str, Any],
) -> None:
    created = doc["paths"]["/notes"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Note"
    }
    assert created["404"] == {"description": "Not Found"}
    shown = doc["paths"]["/notes/{id}"]["get"]["responses"]["200"]
    assert shown["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Note"}
    listed = doc["paths"]["/notes"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}


def test_an_http_exception_response_is_microwebs_error_answer(doc: dict[str, Any]) -> None:
    conflict = doc["paths"]["/books"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == ERROR
    assert set(conflict["content"]) == {"application/json", "text/plain", "text/html"}


def test_a_route_that_declares_nothing_has_a_default_response(doc: dict[str, Any]) -> None:
    assert doc["paths"]["/animals"]["get"]["responses"] == {
        "default": {"description": "The handler's answer"}
    }


def test_every_validated_route_documents_the_400_the_validator_answers(
    doc: dict[str, Any],
) -> None:
    for path, method in [("/notes", "post"), ("/notes", "get"), ("/uploads", "post")]:
        bad = doc["paths"][path][method]["responses"]["400"]
        assert bad["content"]["application/json"]["schema"] == {
            "anyOf": [{"$ref": "#/components/schemas/ValidationError"}, ERROR]
        }
    failed = schema_of(doc, "ValidationError")
    assert failed["required"] == ["error", "target", "issues"]


def test_guarded_routes_document_401_and_403(doc: dict[str, Any]) -> None:
    create = doc["paths"]["/notes"]["post"]["responses"]
    assert create["401"]["content"]["application/json"]["schema"] == ERROR
    assert "CSRF" in create["403"]["description"]
    admin = doc["paths"]["/admin/stats"]["get"]["responses"]  # app.use("/admin/*", guard)
    assert set(admin) >= {"401", "403", "429"}
    assert "403" not in doc["paths"]["/notes"]["get"]["responses"]  # GET passes csrf()


def test_a_route_behind_body_limit_documents_413(doc: dict[str, Any]) -> None:
    assert "1000 bytes" in doc["paths"]["/uploads"]["post"]["responses"]["413"]["description"]


def test_security_schemes_come_from_the_guards(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {"type": "apiKey", "in": "cookie", "name": "notes_sid"}
    assert schemes["csrfToken"] == {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["jwt"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["jwtCookie"] == {"type": "apiKey", "in": "cookie", "name": "jwt_cookie"}
    assert schemes["basicAuth"] == {"type": "http", "scheme": "basic"}


def test_each_route_requires_what_guards_it(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    assert paths["/notes"]["post"]["security"] == [{"sessionCookie": [], "csrfToken": []}]
    assert paths["/uploads"]["post"]["security"] == [{"sessionCookie": [], "csrfToken": []}]
    assert "security" not in paths["/notes"]["get"]
    assert paths["/admin/stats"]["get"]["security"] == [{"sessionCookie": []}]
    assert paths["/api/keys/{key}"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/tokens"]["get"]["security"] == [{"jwt": []}, {"jwtCookie": []}]
    assert paths["/api/basic"]["get"]["security"] == [{"basicAuth": []}]


def test_a_type_that_cannot_be_described_is_any_value_named_in_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="microweb"):
        doc = openapi(features_app.app, title="t", version="1")
    assert schema_of(doc, "Odd")["properties"]["thing"] == {}
    warnings = [r.getMessage() for r in caplog.records if "no schema" in r.getMessage()]
    assert len(warnings) == 1
    assert "Unknowable" in warnings[0]


def test_two_models_with_one_name_get_their_qualified_names() -> None:
    from dataclasses import dataclass

    def make() -> type:
        @dataclass
        class Item:
            name: str

        return Item

    first, second = make(), make()
    second.__qualname__ = "other.Item"
    app = MicroWeb()
    app.post("/a", validator("json", first), lambda c: "a", name="a")
    app.post("/b", validator("json", second), lambda c: "b", name="b")
    doc = openapi(app, title="t", version="1")
    names = [n for n in doc["components"]["schemas"] if n.endswith("Item")]
    assert len(names) == 2 and "Item" not in names
    refs = {
        doc["paths"][p]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for p in ("/a", "/b")
    }
    assert refs == {f"#/components/schemas/{n}" for n in names}


def test_the_3_0_dialect_writes_nullable_and_enums_instead_of_type_lists(
    doc30: dict[str, Any],
) -> None:
    listed = params(doc30["paths"]["/notes"]["get"])
    assert listed[("query", "q")]["schema"] == {"type": "string", "default": None, "nullable": True}
    color = doc30["components"]["schemas"]["NewNote"]["properties"]["color"]
    assert color == {
        "allOf": [{"$ref": "#/components/schemas/Color"}],
        "default": None,
        "nullable": True,
    }
    error = doc30["components"]["schemas"]["ValidationError"]["properties"]["error"]
    assert error == {"type": "string", "enum": ["Validation failed"]}

    def types(node: Any) -> list[Any]:
        if isinstance(node, dict):
            found = [node["type"]] if isinstance(node.get("type"), list) else []
            return found + [t for v in node.values() for t in types(v)]
        if isinstance(node, list):
            return [t for v in node for t in types(v)]
        return []

    assert types(doc30) == []


def test_the_3_0_dialect_writes_example_for_examples() -> None:
    from microweb.openapi.dialect import to_openapi_30

    doc = {
        "openapi": "3.1.1",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"N": {"type": "integer", "examples": [3, 4]}}},
    }
    converted = to_openapi_30(doc)
    assert converted["components"]["schemas"]["N"] == {"type": "integer", "example": 3}
    assert doc["components"]["schemas"]["N"]["examples"] == [3, 4]  # the input is kept


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect"):
        openapi(MicroWeb(), title="t", version="1", dialect="2.0")


def test_building_the_document_leaves_the_apps_router_open_for_more_routes() -> None:
    app = MicroWeb()
    app.get("/a", lambda c: "a", name="a")
    openapi(app, title="t", version="1")
    app.get("/b", lambda c: "b", name="b")  # the app's router was never matched
    assert set(openapi(app, title="t", version="1")["paths"]) == {"/a", "/b"}
