"""OpenAPI 3.1 documents rewritten as 3.0.3, for tools that only read 3.0.

Rules:
- Only schemas change (components/schemas, and the schemas of parameters, bodies
  and responses); the rest of a 3.1 document is already valid 3.0.
- `type: [T, "null"]` and an `anyOf`/`oneOf` with `{"type": "null"}` become
  `nullable: true`; several types become an `anyOf`; `const` becomes a one-value
  `enum`; `examples` becomes `example` (the first); numeric `exclusiveMinimum` and
  `exclusiveMaximum` become the 3.0 booleans; `prefixItems` becomes `items` with an
  `anyOf` of them; a `$ref` with siblings is wrapped in `allOf` (3.0 ignores them).
- Keywords 3.0 does not know (`$schema`, `$id`, `contentMediaType`, ...) are dropped.
- The input is not changed: the result is a new document.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["to_openapi_30"]

# JSON Schema keywords that OpenAPI 3.0's Schema Object does not have.
_DROPPED = frozenset(
    {
        "$schema",
        "$id",
        "$anchor",
        "$comment",
        "$defs",
        "contentMediaType",
        "contentEncoding",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "if",
        "then",
        "else",
        "const",
        "examples",
        "prefixItems",
    }
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMAS = ("items", "not", "additionalProperties")


def to_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (OpenAPI 3.1) as an OpenAPI 3.0.3 document."""
    doc = copy.deepcopy(document)
    doc["openapi"] = "3.0.3"
    doc.pop("jsonSchemaDialect", None)
    components = doc.get("components", {})
    schemas = components.get("schemas", {})
    for name, schema in schemas.items():
        schemas[name] = _schema(schema)
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", ()):
                if "schema" in parameter:
                    parameter["schema"] = _schema(parameter["schema"])
            body = operation.get("requestBody")
            if body is not None:
                _content(body)
            for response in operation.get("responses", {}).values():
                _content(response)
                for header in response.get("headers", {}).values():
                    if "schema" in header:
                        header["schema"] = _schema(header["schema"])
    return doc


def _content(holder: dict[str, Any]) -> None:
    for media in holder.get("content", {}).values():
        if "schema" in media:
            media["schema"] = _schema(media["schema"])


def _schema(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _schema(prop) for name, prop in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            kept = [_schema(option) for option in value if option != {"type": "null"}]
            nullable |= len(kept) < len(value)
            if key == "allOf" or len(kept) == 1:
                # One option left: `allOf` holds it, so `nullable` can stand beside it.
                out.setdefault("allOf", []).extend(kept)
            elif kept:
                out[key] = kept
        elif key in _SUBSCHEMAS:
            out[key] = _schema(value)
        else:
            out[key] = value
    kind = out.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable |= len(types) < len(kind)
        if len(types) == 1:
            out["type"] = types[0]
        else:
            del out["type"]
            if types:
                out.setdefault("anyOf", []).extend({"type": t} for t in types)
    elif kind == "null":
        del out["type"]
        out["enum"] = [None]
        nullable = True
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        out["example"] = schema["examples"][0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = schema.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list):
        out["items"] = {"anyOf": [_schema(item) for item in prefix]} if prefix else {}
    if schema.get("type") == "array" and "items" not in out:
        out["items"] = {}  # 3.0 requires items on arrays
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    if nullable:
        out["nullable"] = True
    return out
