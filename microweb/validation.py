"""`validator()`: check and convert request input before the handler, as Hono's `validator`.

Rules:
- `validator(target, schema)` reads the target (`json`, `form`, `query`,
  `param`, `header`, `cookie`), checks it against `schema` and stores the
  result for `c.req.valid(target)`. Several validators on one route (query
  and json, say) each keep their own target.
- `schema` is a pydantic model, a msgspec Struct, a dataclass, a typing
  construct over those and builtins (`list[Note]`, a TypedDict, `int | None`),
  or any `callable(value) -> value` raising ValueError or TypeError. Its kind is
  found once, when the factory is called, without importing pydantic or
  msgspec: a class is only checked against them when the user already
  imported them (so it can only be one of theirs then).
- Input: `json` is the parsed body (a body that is not JSON is the usual 400
  from `c.req.json()`); `form`, `query`, `header` and `cookie` are dicts of
  strings, where a name given more than once becomes a list; `param` is the
  route's params; header names are lower-case. Strings from those targets
  are converted to the field types (`"42"` to an int, `"true"` to a bool;
  a number in a string is ASCII digits, with a sign, and for a float a point
  and an exponent); JSON values must already have the right type, except
  that dates and times come as ISO 8601 strings. A number must fit: an int
  past Python's digit limit or a float past 1.8e308 is "number out of range"
  (a 400 like any other issue).
- `converter(schema, from_strings=...)` is the checking function itself, for
  other uses (`MicroWeb(check_responses=True)` checks JSON responses with it).
- Failure: a `ValidationError` (an `HTTPException(400)`, so `app.on_error`
  sees it, with `.target` and `.issues`); unless a handler answers it, 400 with
  `{"error": "Validation failed", "target": ..., "issues": [{"field":
  "address.zip", "message": "..."}]}` (fields dotted, list items by index), and
  the handler does not run. Never a 500.
- Typing: `c.req.valid("json")` is `Any`, so `user: User = c.req.valid("json")`
  type-checks; `c.req.valid("json", User)` is typed `User` and checked.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .compose import Middleware, Next
from .exceptions import HTTPException
from .http_rules import is_json
from .response import Response

if TYPE_CHECKING:
    from .context import Context

__all__ = ["ValidationError", "ValidationFailed", "Validator", "converter", "validator"]

T = TypeVar("T")
TARGETS = ("json", "form", "query", "param", "header", "cookie")
Issue = dict[str, str]


class ValidationFailed(Exception):
    """Raised by the dataclass converter with every problem it found."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i['field'] or '(value)'}: {i['message']}" for i in issues))
        self.issues = issues


class ValidationError(HTTPException):
    """400: a `validator()` found problems in its `target`; `issues` lists them
    (`{"field": "address.zip", "message": "..."}`). Answered as JSON unless the app's
    `on_error` answers it."""

    def __init__(self, target: str, issues: list[Issue]) -> None:
        super().__init__(400, "Validation failed")
        self.target = target
        self.issues = issues

    def answer(self, c: Context) -> Response:
        return c.json({"error": self.message, "target": self.target, "issues": self.issues}, 400)


# -- schema kinds ------------------------------------------------------------------------


def _is_pydantic(schema: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    return (
        pydantic is not None and isinstance(schema, type) and issubclass(schema, pydantic.BaseModel)
    )


def _is_msgspec(schema: Any) -> bool:
    msgspec = sys.modules.get("msgspec")
    return msgspec is not None and isinstance(schema, type) and issubclass(schema, msgspec.Struct)


def _dotted(path: typing.Iterable[Any]) -> str:
    return ".".join(str(part) for part in path)


def _pydantic_checker(schema: Any, from_strings: bool) -> Callable[[Any], Any]:
    import pydantic

    def check(value: Any) -> Any:
        try:
            return schema.model_validate(value, strict=False if from_strings else None)
        except pydantic.ValidationError as err:
            raise ValidationFailed(
                [{"field": _dotted(e["loc"]), "message": e["msg"]} for e in err.errors()]
            ) from None

    return check


def _msgspec_checker(schema: Any, from_strings: bool) -> Callable[[Any], Any]:
    import msgspec

    def check(value: Any) -> Any:
        try:
            return msgspec.convert(value, type=schema, strict=not from_strings)
        except msgspec.ValidationError as err:
            message, _, where = str(err).partition(" - at `$")
            field = where.rstrip("`").lstrip(".").replace("[", ".").replace("]", "")
            raise ValidationFailed([{"field": field, "message": message}]) from None

    return check


def _callable_checker(schema: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        try:
            return schema(value)
        except ValidationFailed:
            raise
        except (ValueError, TypeError, OverflowError) as err:
            raise ValidationFailed(
                [{"field": "", "message": str(err) or type(err).__name__}]
            ) from None

    return check


# -- dataclasses -------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# Numbers written in strings (query, form, ...): ASCII digits only, never "٣", "4_2" or
# "inf", which Python's int() and float() would take.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OUT_OF_RANGE: Any = object()


def _number(value: Any, kind: type[int] | type[float], from_strings: bool) -> Any:
    """`value` as an int or a finite float; None when it is not one, `_OUT_OF_RANGE`
    when it is too large (a float past 1.8e308, an integer past Python's digit limit)."""
    if isinstance(value, bool):
        return None
    if from_strings and isinstance(value, str):
        pattern = _INTEGER if kind is int else _DECIMAL
        if not pattern.fullmatch(value):
            return None
    elif not (isinstance(value, int) or (kind is float and isinstance(value, float))):
        return None
    try:
        number = kind(value)
    except (ValueError, OverflowError):  # past the digit limit, past the float range
        return _OUT_OF_RANGE
    if kind is float and number - number != 0.0:  # inf or nan
        return _OUT_OF_RANGE
    return number


def _fail(issues: list[Issue], path: list[str], message: str) -> None:
    """Add the issue `message` at `path`; the converters return this None on failure."""
    issues.append({"field": ".".join(path), "message": message})


# A converter turns `value` into type `kind`, adding what is wrong to `issues` (its return
# is then unused). `_convert` picks one from the tables below by the type's origin
# (`list[int]`, `int | None`), else by the type itself, else by what kind of class it is.
Convert = Callable[[Any, Any, list[str], bool, list[Issue]], Any]


def _convert(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    """`value` as type `kind`; problems are added to `issues` (the return is then unused)."""
    if kind is Any or kind is object:
        return value
    origin = typing.get_origin(kind)
    if origin is not None:
        convert = _BY_ORIGIN.get(origin, _as_is)
    else:
        try:
            convert = _BY_TYPE.get(kind) or _by_class(kind)
        except TypeError:  # an unhashable annotation: nothing to convert to
            convert = _as_is
    return convert(value, kind, path, from_strings, issues)


def _by_class(kind: Any) -> Convert:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _build
    if typing.is_typeddict(kind):
        return _build_typed_dict
    if _is_pydantic(kind) or _is_msgspec(kind):
        return _model
    return _instance if isinstance(kind, type) else _as_is


def _as_is(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    return value


def _union(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    args = typing.get_args(kind)
    if value is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    if len(options) == 1:  # Optional[X]: X's own problems, with their fields
        return _convert(value, options[0], path, from_strings, issues)
    for option in options:
        attempt: list[Issue] = []
        result = _convert(value, option, path, from_strings, attempt)
        if not attempt:
            return result
    names = " or ".join(getattr(a, "__name__", str(a)) for a in args)
    return _fail(issues, path, f"expected {names}")


def _literal(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    args = typing.get_args(kind)
    if value in args:
        return value
    return _fail(issues, path, f"expected one of {list(args)!r}")


def _collection(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    items = value if isinstance(value, list | tuple) else [value] if from_strings else None
    if items is None:
        return _fail(issues, path, "expected a list")
    args = typing.get_args(kind)
    item_type = args[0] if args else Any
    converted = [
        _convert(item, item_type, [*path, str(i)], from_strings, issues)
        for i, item in enumerate(items)
    ]
    container = typing.get_origin(kind) or kind
    return converted if container is list else container(converted)


def _mapping(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    if not isinstance(value, dict):
        return _fail(issues, path, "expected an object")
    args = typing.get_args(kind)
    value_type = args[1] if len(args) == 2 else Any
    return {
        k: _convert(v, value_type, [*path, str(k)], from_strings, issues) for k, v in value.items()
    }


def _model(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    """A pydantic model or a msgspec Struct, checked by its library; its issues' fields
    are placed under `path`."""
    check = (_pydantic_checker if _is_pydantic(kind) else _msgspec_checker)(kind, from_strings)
    try:
        return check(value)
    except ValidationFailed as failed:
        for issue in failed.issues:
            _fail(issues, [part for part in (*path, issue["field"]) if part], issue["message"])
        return None


def _iso(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    if not isinstance(value, str):
        return _instance(value, kind, path, from_strings, issues)
    try:
        return kind.fromisoformat(value)
    except ValueError:
        return _fail(issues, path, f"expected an ISO 8601 {kind.__name__}")


def _bool(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    if isinstance(value, bool):
        return value
    if from_strings and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    return _fail(issues, path, "expected a boolean")


def _numeric(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    number = _number(value, kind, from_strings)
    if number is None:
        return _fail(issues, path, f"expected {'an integer' if kind is int else 'a number'}")
    if number is _OUT_OF_RANGE:
        return _fail(issues, path, "number out of range")
    return number


def _str(value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]) -> Any:
    if isinstance(value, str):
        return value
    return _fail(issues, path, "expected a string")


def _instance(
    value: Any, kind: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    """Any other class: an instance passes, anything else goes through its constructor."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError) as err:
        return _fail(issues, path, str(err) or f"expected {kind.__name__}")


def _build(
    value: Any, schema: type[Any], path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    """A dataclass, made from the fields of an object; None with its issues."""
    if not isinstance(value, Mapping):
        return _fail(issues, path, "expected an object")
    hints = typing.get_type_hints(schema)
    kwargs: dict[str, Any] = {}
    before = len(issues)
    for field in dataclasses.fields(schema):
        if not field.init:
            continue
        if field.name not in value:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                _fail(issues, [*path, field.name], "field required")
            continue
        kwargs[field.name] = _convert(
            value[field.name], hints.get(field.name, Any), [*path, field.name], from_strings, issues
        )
    if len(issues) > before:
        return None
    try:
        return schema(**kwargs)
    except (TypeError, ValueError, OverflowError) as err:  # a __post_init__ that checks more
        return _fail(issues, path, str(err))


def _build_typed_dict(
    value: Any, schema: Any, path: list[str], from_strings: bool, issues: list[Issue]
) -> Any:
    """A TypedDict's dict, its keys converted; issues for the required keys missing."""
    if not isinstance(value, Mapping):
        return _fail(issues, path, "expected an object")
    hints = typing.get_type_hints(schema)
    result: dict[str, Any] = {}
    for name in schema.__required_keys__:
        if name not in value:
            _fail(issues, [*path, name], "field required")
    for name, item in value.items():
        kind = hints.get(name, Any)
        result[name] = _convert(item, kind, [*path, str(name)], from_strings, issues)
    return result


_COLLECTIONS: dict[Any, Convert] = dict.fromkeys((list, tuple, set, frozenset), _collection)
_BY_ORIGIN: dict[Any, Convert] = {
    typing.Union: _union,
    types.UnionType: _union,
    typing.Literal: _literal,
    **_COLLECTIONS,
    dict: _mapping,
}
_BY_TYPE: dict[Any, Convert] = {
    **_COLLECTIONS,
    dict: _mapping,
    bool: _bool,
    int: _numeric,
    float: _numeric,
    str: _str,
    datetime.datetime: _iso,
    datetime.date: _iso,
    datetime.time: _iso,
}


def _type_checker(schema: Any, from_strings: bool) -> Callable[[Any], Any]:
    if dataclasses.is_dataclass(schema) or typing.is_typeddict(schema):
        typing.get_type_hints(schema)  # an unresolvable annotation fails here, at start-up

    def check(value: Any) -> Any:
        issues: list[Issue] = []
        result = _convert(value, schema, [], from_strings, issues)
        if issues:
            raise ValidationFailed(issues)
        return result

    return check


def converter(schema: Any, *, from_strings: bool) -> Callable[[Any], Any]:
    """The function that checks a value against `schema` and returns it converted (a
    model instance, say), raising ValidationFailed with every problem found.
    `from_strings` converts strings to the field types, as for a query or a form."""
    if _is_pydantic(schema):
        return _pydantic_checker(schema, from_strings)
    if _is_msgspec(schema):
        return _msgspec_checker(schema, from_strings)
    if (dataclasses.is_dataclass(schema) and isinstance(schema, type)) or (
        typing.get_origin(schema) is not None or typing.is_typeddict(schema)
    ):
        return _type_checker(schema, from_strings)
    if callable(schema):
        return _callable_checker(schema)
    raise ValueError(f"validator(): {schema!r} is not a model, a dataclass or a callable")


# -- reading targets ---------------------------------------------------------------------


def _multi(items: typing.Iterable[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in items:
        if key in result:
            previous = result[key]
            result[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[key] = value
    return result


async def _read(c: Context, target: str) -> Any:
    req = c.req
    if target == "json":
        if not is_json(req.content_type):
            raise ValidationFailed(
                [{"field": "", "message": "expected a JSON body (Content-Type: application/json)"}]
            )
        return await req.json()
    if target == "form":
        return _multi((await req.form()).multi_items())
    if target == "query":
        return {k: v[0] if len(v) == 1 else v for k, v in req.queries().items()}
    if target == "param":
        return req.param()
    if target == "header":
        return _multi(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in req.scope["headers"]
        )
    return dict(req.cookie())


class Validator(Middleware):
    """The middleware `validator()` returns."""

    def __init__(self, target: str, schema: Any) -> None:
        if target not in TARGETS:
            raise ValueError(
                f"validator(): target must be one of {', '.join(TARGETS)}; got {target!r}"
            )
        self.check = converter(schema, from_strings=target != "json")
        self.target = target
        self.schema = schema

    async def __call__(self, c: Context, next: Next) -> Response | None:
        try:
            value = self.check(await _read(c, self.target))
        except ValidationFailed as failed:
            raise ValidationError(self.target, failed.issues) from None
        c.req.set_valid(self.target, value)
        await next()
        return None


def validator(target: str, schema: type[T] | Callable[[Any], T]) -> Validator:
    """Validate `target` against `schema` before the handler; see the module rules."""
    return Validator(target, schema)
