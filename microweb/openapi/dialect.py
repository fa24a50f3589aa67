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

from collections.abc import Callable
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
    return _Converter().document(document)


class _Converter:
    """One conversion. perf: the document shares objects (microweb's error answers, a
    model's schema) between operations; each is converted once, by its id, and the
    result shared the same way, instead of deep-copying the document first."""

    def __init__(self) -> None:
        self.done: dict[int, Any] = {}

    def document(self, document: dict[str, Any]) -> dict[str, Any]:
        doc = dict(document)
        doc["openapi"] = "3.0.3"
        doc.pop("jsonSchemaDialect", None)
        if "components" in doc:
            components = dict(doc["components"])
            if "schemas" in components:
                components["schemas"] = {
                    name: self.schema(schema) for name, schema in components["schemas"].items()
                }
            doc["components"] = components
        doc["paths"] = {
            path: {method: self.operation(op) for method, op in item.items()}
            for path, item in doc.get("paths", {}).items()
        }
        return doc

    def operation(self, operation: Any) -> Any:
        if not isinstance(operation, dict):
            return operation
        op = dict(operation)
        if "parameters" in op:
            op["parameters"] = [self.with_schema(p) for p in op["parameters"]]
        if "requestBody" in op:
            op["requestBody"] = self.with_content(op["requestBody"])
        if "responses" in op:
            op["responses"] = {
                status: self.response(response) for status, response in op["responses"].items()
            }
        return op

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        converted = self.with_content(response)
        if "headers" in converted:
            converted = {
                **converted,
                "headers": {n: self.with_schema(h) for n, h in converted["headers"].items()},
            }
        return converted

    def with_content(self, holder: dict[str, Any]) -> dict[str, Any]:
        if "content" not in holder:
            return holder
        key = id(holder["content"])
        content = self.done.get(key)
        if content is None:
            content = {media: self.with_schema(m) for media, m in holder["content"].items()}
            self.done[key] = content
        return {**holder, "content": content}

    def with_schema(self, holder: dict[str, Any]) -> dict[str, Any]:
        return {**holder, "schema": self.schema(holder["schema"])} if "schema" in holder else holder

    def schema(self, schema: Any) -> Any:
        key = id(schema)
        if key not in self.done:
            self.done[key] = _schema(schema, self.schema)
        return self.done[key]


def _schema(schema: Any, convert: Callable[[Any], Any]) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: convert(prop) for name, prop in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            kept = [convert(option) for option in value if option != {"type": "null"}]
            nullable |= len(kept) < len(value)
            if key == "allOf" or len(kept) == 1:
                # One option left: `allOf` holds it, so `nullable` can stand beside it.
                out.setdefault("allOf", []).extend(kept)
            elif kept:
                out[key] = kept
        elif key in _SUBSCHEMAS:
            out[key] = convert(value)
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
        out["items"] = {"anyOf": [convert(item) for item in prefix]} if prefix else {}
    if schema.get("type") == "array" and "items" not in out:
        out["items"] = {}  # 3.0 requires items on arrays
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    if nullable:
        out["nullable"] = True
    return out
