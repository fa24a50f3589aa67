"""JSON Schema (2020-12, as OpenAPI 3.1 reads it) from the types `validator` accepts.

Rules:
- Dataclasses, TypedDicts and Enums are described here, each once, as a component
  (`#/components/schemas/Name`); pydantic models by their own `model_json_schema`
  (validation mode: one schema per model, never an -Input/-Output pair) and msgspec
  types by `msgspec.json.schema_components`, their definitions lifted into the
  components and their discriminators kept.
- Builtins, `Literal`, `X | None`, unions, lists, sets, tuples, dicts, dates, UUIDs
  and `Annotated` are described inline. A union whose members are models sharing a
  required `Literal` field is a `oneOf` with a `discriminator`; another union is an
  `anyOf`.
- A component is named after its class; when two different types would share a
  name, each gets its module-qualified name instead, whatever the order they were
  met in. Names only use the characters OpenAPI allows.
- Never a crash: a type that cannot be described becomes `{}` and is listed in
  `undescribed` (the document logs one warning naming them all).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import inspect
import json
import re
import sys
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..datastructures import UploadFile

__all__ = ["Schemas", "type_name"]

_REF = "#/components/schemas/"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

_SIMPLE: dict[Any, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bytes: {"type": "string", "format": "binary"},
    decimal.Decimal: {"type": ["number", "string"]},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    UploadFile: {"type": "string", "format": "binary"},
    type(None): {"type": "null"},
}
_ARRAYS = {list, set, frozenset, tuple, Sequence, Iterable}
_Generator = Callable[[type[Any]], tuple[dict[str, Any], dict[str, Any]]]
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def type_name(kind: Any) -> str:
    """A readable name for `kind`, for messages."""
    name = getattr(kind, "__qualname__", None) or getattr(kind, "__name__", None)
    return str(name) if name else repr(kind)


class _Component:
    """One entry of components/schemas, and every reference made to it."""

    __slots__ = ("body", "mappings", "qualified", "refs", "short")

    def __init__(self, short: str, qualified: str) -> None:
        self.short = _NAME_CHARS.sub("_", short) or "Schema"
        self.qualified = _NAME_CHARS.sub("_", qualified) or self.short
        self.body: dict[str, Any] = {}
        self.refs: list[dict[str, Any]] = []
        self.mappings: list[tuple[dict[str, Any], str]] = []  # discriminator mapping entries


class Schemas:
    """The schemas of one document: inline schemas, and the components they refer to."""

    def __init__(self) -> None:
        self._components: dict[Any, _Component] = {}
        self._owners: dict[int, _Component] = {}  # id of a {"$ref": ...} dict -> its target
        self._cache: dict[Any, dict[str, Any]] = {}
        self.undescribed: list[str] = []

    # -- public ----------------------------------------------------------------------

    def schema(self, kind: Any) -> dict[str, Any]:
        """The schema of `kind` (shared between callers: copy it before changing it)."""
        try:
            cached = self._cache.get(kind)
        except TypeError:  # an unhashable annotation
            return self._describe(kind)
        if cached is None:
            cached = self._cache[kind] = self._describe(kind)
        return cached

    def fields(self, kind: Any) -> tuple[dict[str, Any], set[str]] | None:
        """The properties and the required names of an object type (a model), or None."""
        schema = self.schema(kind)
        body = self._body_of(schema)
        if body is None or not isinstance(body.get("properties"), dict):
            return None
        return body["properties"], set(body.get("required", ()))

    def body(self, schema: Mapping[str, Any]) -> dict[str, Any] | None:
        """The schema a `$ref` points at (or `schema` itself)."""
        return self._body_of(schema)

    def fixed(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """A reference to a component microweb itself defines (its error bodies)."""
        component = self._components.get(("microweb", key))
        if component is None:
            component = self._component(("microweb", key), key, f"microweb.{key}")
            component.body = body
        return self._ref(component)

    def components(self) -> dict[str, dict[str, Any]]:
        """Name every component (module-qualified where short names clash), point every
        reference at its name, and return components/schemas sorted by name."""
        groups: dict[str, list[_Component]] = {}
        for component in self._components.values():
            groups.setdefault(component.short, []).append(component)
        named: dict[str, _Component] = {}
        for short, members in groups.items():
            for component in members:
                name = short if len(members) == 1 else component.qualified
                base, n = name, 1
                while name in named:
                    n += 1
                    name = f"{base}_{n}"
                named[name] = component
        for name, component in named.items():
            for ref in component.refs:
                ref["$ref"] = _REF + name
            for mapping, value in component.mappings:
                mapping[value] = _REF + name
        return {name: named[name].body for name in sorted(named)}

    # -- describing ------------------------------------------------------------------

    def _describe(self, kind: Any) -> dict[str, Any]:
        try:
            return self._type(kind)
        except Exception:  # a type no branch foresaw: described as anything
            return self._undescribed(kind)

    def _undescribed(self, kind: Any) -> dict[str, Any]:
        name = type_name(kind)
        if name not in self.undescribed:
            self.undescribed.append(name)
        return {}

    def _type(self, kind: Any) -> dict[str, Any]:
        if kind is Any or kind is object:
            return {}
        if kind is None:
            kind = type(None)
        simple = _SIMPLE.get(kind)
        if simple is not None:
            return dict(simple)
        origin = typing.get_origin(kind)
        args = typing.get_args(kind)
        if origin is typing.Annotated:
            return self.schema(args[0])
        if isinstance(kind, typing.NewType):
            return self.schema(kind.__supertype__)
        if origin is typing.Literal:
            return _literal(args)
        if origin in (typing.Union, types.UnionType):
            return self._union(args)
        if origin in _ARRAYS or kind in _ARRAYS:
            return self._array(origin or kind, args)
        if origin in (dict, Mapping) or kind in (dict, Mapping):
            values = args[1] if len(args) == 2 else Any
            schema: dict[str, Any] = {"type": "object"}
            if values is not Any:
                schema["additionalProperties"] = self.schema(values)
            return schema
        if isinstance(kind, type):
            if issubclass(kind, enum.Enum):
                return self._model(kind, _enum_body)
            if _is_pydantic(kind):
                return self._foreign(kind, _pydantic_schema)
            if _is_msgspec(kind):
                return self._foreign(kind, _msgspec_schema)
            if dataclasses.is_dataclass(kind):
                return self._model(kind, self._dataclass_body)
            if typing.is_typeddict(kind):
                return self._model(kind, self._typed_dict_body)
            for base, schema in _SIMPLE.items():
                if base is not type(None) and issubclass(kind, base):
                    return dict(schema)  # a subclass of str, int, ...
        return self._undescribed(kind)

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        nullable = type(None) in args
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            schema = self.schema(options[0])
            if not nullable:
                return schema
            kind = schema.get("type")
            if isinstance(kind, str) and "$ref" not in schema and "enum" not in schema:
                return {**schema, "type": [kind, "null"]}
            return {"anyOf": [schema, {"type": "null"}]}
        members = [self.schema(a) for a in options]
        tagged = self._discriminator(options, members)
        union: dict[str, Any] = (
            {"oneOf": members, "discriminator": tagged} if tagged else {"anyOf": members}
        )
        if nullable:
            return (
                {"anyOf": [union, {"type": "null"}]}
                if tagged
                else {"anyOf": [*members, {"type": "null"}]}
            )
        return union

    def _discriminator(
        self, options: list[Any], members: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The discriminator of a union of models that share a required Literal field."""
        if not all("$ref" in member for member in members):
            return None
        bodies = [self._body_of(member) for member in members]
        candidates: set[str] | None = None
        for body in bodies:
            if body is None:
                return None
            tags = {
                name
                for name, prop in body.get("properties", {}).items()
                if name in body.get("required", ()) and _tag_values(prop)
            }
            candidates = tags if candidates is None else candidates & tags
        if not candidates:
            return None
        field = sorted(candidates)[0]
        mapping: dict[str, Any] = {}
        for member, body in zip(members, bodies, strict=True):
            assert body is not None
            for value in _tag_values(body["properties"][field]):
                if str(value) in mapping:
                    return None  # two members claim one tag: not a discriminator
                mapping[str(value)] = ""
                self._component_of(member).mappings.append((mapping, str(value)))
        return {"propertyName": field, "mapping": mapping}

    def _array(self, container: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array"}
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if args == ((),):
                return {**schema, "maxItems": 0}
            schema["prefixItems"] = [self.schema(a) for a in args]
            schema["minItems"] = schema["maxItems"] = len(args)
            return schema
        if args and args[0] is not Any:
            schema["items"] = self.schema(args[0])
        if container in (set, frozenset):
            schema["uniqueItems"] = True
        return schema

    # -- components ------------------------------------------------------------------

    def _component(self, key: Any, short: str, qualified: str) -> _Component:
        component = _Component(short, qualified)
        self._components[key] = component
        return component

    def _ref(self, component: _Component, ref: dict[str, Any] | None = None) -> dict[str, Any]:
        """`ref` (a new `{"$ref": ...}` by default), registered as pointing at `component`."""
        if ref is None:
            ref = {"$ref": ""}
        component.refs.append(ref)
        self._owners[id(ref)] = component
        return ref

    def _component_of(self, ref: Mapping[str, Any]) -> _Component:
        return self._owners[id(ref)]

    def _body_of(self, schema: Mapping[str, Any]) -> dict[str, Any] | None:
        if "$ref" not in schema:
            return dict(schema)
        component = self._owners.get(id(schema))
        return None if component is None else component.body

    def _model(
        self, kind: type[Any], build: Callable[[type[Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        component = self._components.get(kind)
        if component is None:
            qualified = f"{kind.__module__}.{kind.__qualname__.replace('.<locals>.', '.')}"
            component = self._component(kind, kind.__name__, qualified)
            component.body = build(kind)  # after registering: a recursive type refers to itself
        return self._ref(component)

    def _dataclass_body(self, kind: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(kind, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in dataclasses.fields(kind):
            if not field.init:
                continue
            prop = self._property(hints.get(field.name, Any), field.metadata)
            if field.default is not dataclasses.MISSING:
                if _is_json(field.default):
                    prop["default"] = field.default
            elif field.default_factory is dataclasses.MISSING:
                required.append(field.name)
            properties[field.name] = prop
        return _object(kind, properties, required)

    def _typed_dict_body(self, kind: type[Any]) -> dict[str, Any]:
        hints = typing.get_type_hints(kind, include_extras=True)
        properties = {name: self._property(hint, {}) for name, hint in hints.items()}
        required = [name for name in hints if name in kind.__required_keys__]
        return _object(kind, properties, required)

    def _property(self, hint: Any, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """The schema of a field, a dict of its own (a default or a description may be
        added to it)."""
        schema = self.schema(hint)
        owner = self._owners.get(id(schema))
        prop = dict(schema) if owner is None else self._ref(owner)
        description = metadata.get("description")
        if isinstance(description, str):
            prop["description"] = description
        extra = metadata.get("json_schema")
        if isinstance(extra, Mapping):
            prop.update(extra)  # what the field's checks add (a pattern, a minimum...)
        return prop

    def _foreign(self, kind: type[Any], generate: _Generator) -> dict[str, Any]:
        """A pydantic or msgspec type: its schema and definitions, lifted into components."""
        top, definitions = generate(kind)
        by_name: dict[str, _Component] = {}
        for name, body in definitions.items():
            key = ("definition", name, json.dumps(body, sort_keys=True, default=str))
            component = self._components.get(key)
            if component is None:
                qualified = name if name != kind.__name__ else f"{kind.__module__}.{name}"
                component = self._component(key, name, qualified)
                component.body = body
            by_name[name] = component
        for body in [top, *definitions.values()]:
            self._link(body, by_name)
        return top

    def _link(self, node: Any, by_name: Mapping[str, _Component]) -> None:
        """Register every `$ref` and discriminator mapping under `node` with its component."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF) :] in by_name:
                self._ref(by_name[ref[len(_REF) :]], node)
            mapping = node.get("mapping") if isinstance(node.get("propertyName"), str) else None
            if isinstance(mapping, dict):
                for value, target in mapping.items():
                    name = target[len(_REF) :] if isinstance(target, str) else ""
                    if name in by_name:
                        by_name[name].mappings.append((mapping, value))
            for child in node.values():
                self._link(child, by_name)
        elif isinstance(node, list):
            for child in node:
                self._link(child, by_name)


def _object(kind: type[Any], properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "title": kind.__name__, "properties": properties}
    if required:
        body["required"] = required
    doc = _own_doc(kind)
    if doc:
        body["description"] = doc
    return body


def _own_doc(kind: type[Any]) -> str | None:
    doc = kind.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    if dataclasses.is_dataclass(kind) and doc.startswith(kind.__name__ + "("):
        return None  # the signature dataclasses put there, not the author's words
    return inspect.cleandoc(doc)


def _enum_body(kind: type[Any]) -> dict[str, Any]:
    values = [member.value for member in kind]
    body: dict[str, Any] = {"title": kind.__name__, "enum": values}
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        body["type"] = kinds.pop()
    doc = _own_doc(kind)
    if doc and doc != "An enumeration.":
        body["description"] = doc
    return body


def _literal(values: tuple[Any, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": list(values)}
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        schema["type"] = kinds.pop()
    return schema


def _tag_values(prop: Mapping[str, Any]) -> list[Any]:
    if "const" in prop:
        return [prop["const"]]
    values = prop.get("enum")
    return list(values) if isinstance(values, list) and prop.get("type") == "string" else []


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _is_pydantic(kind: type[Any]) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and issubclass(kind, pydantic.BaseModel)


def _is_msgspec(kind: type[Any]) -> bool:
    msgspec = sys.modules.get("msgspec")
    return msgspec is not None and issubclass(kind, msgspec.Struct)


def _pydantic_schema(kind: type[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema: dict[str, Any] = kind.model_json_schema(
        ref_template=_REF + "{model}", mode="validation"
    )
    definitions = schema.pop("$defs", {})
    if "$ref" not in schema:
        # The model itself: a component too, named as pydantic names it.
        name = kind.__name__
        while name in definitions:
            name += "_"
        definitions[name] = schema
        schema = {"$ref": _REF + name}
    return schema, definitions


def _msgspec_schema(kind: type[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    import msgspec

    (schema,), definitions = msgspec.json.schema_components([kind], ref_template=_REF + "{name}")
    return dict(schema), dict(definitions)
