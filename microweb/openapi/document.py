"""`openapi(app, ...)`: the OpenAPI document of an app, from what its routes already say.

Rules:
- Every handler route of the app is an operation: routes copied in by `app.route`
  and registered under a `base_path` included, WebSocket routes and mounted ASGI
  apps left out (the mounts are named in a logged warning). Paths follow `paths`.
- `operationId` is the route's name (made unique with `_2`, `_3`, ... in
  registration order; `app.all` routes get `_get`, `_post`, ...); `summary` is the
  first paragraph of the handler's docstring and `description` the rest; `tags` are
  the route's (`tags=`, else the prefix of the sub-app it came from).
- What runs before the handler (`chains`) describes it: `validator(...)`s give the
  parameters (`param`, `query`, `header`, `cookie`) and the request body (`json`;
  `form` as urlencoded and multipart, or multipart alone when a field is a file),
  and the 400 they answer; a middleware's `Description` gives security requirements
  (all of a route's guards at once) and the statuses it answers with.
- Responses: the route's `responses={status: Model | None}` (an HTTPException class
  there: microweb's own error answer, JSON, text or HTML as the client accepts) and
  its model return annotation (`checked_responses.declared_models`), then the
  validators' and guards' answers for statuses the route gave no model for. A route
  that declares nothing documents a `default` response.
- The document is OpenAPI 3.1.1 (JSON Schema 2020-12); `dialect="3.0"` rewrites it
  as 3.0.3 (`dialect.py`). Building it never fails on a type: see `schemas`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ..checked_responses import declared_models
from ..compose import Route
from ..describe import DEFAULT_SCHEMES, description_of
from ..exceptions import HTTPException
from ..router import METHOD_ALL
from ..validation import TARGETS, Validator
from ..websockets import WEBSOCKET
from .chains import Chains
from .dialect import to_openapi_30
from .paths import Template, templates
from .schemas import Schemas

if TYPE_CHECKING:
    from ..app import MicroWeb

__all__ = ["HIDDEN", "hide", "openapi"]

logger = logging.getLogger("microweb")

HIDDEN = "__microweb_openapi_hidden__"
DIALECTS = {"3.1": "3.1.1", "3.0": "3.0.3"}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAM_PLACES = {"param": "path", "query": "query", "header": "header", "cookie": "cookie"}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")

ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "An error microweb answers itself, to a client that accepts JSON.",
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
    "required": ["error", "status"],
}
VALIDATION_BODY: dict[str, Any] = {
    "type": "object",
    "title": "ValidationError",
    "description": "What `validator(...)` answers when the input does not match its schema.",
    "properties": {
        "error": {"type": "string", "const": "Validation failed"},
        "target": {"type": "string", "enum": list(TARGETS)},
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["error", "target", "issues"],
}


def hide(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Leave the handler `fn` out of the document (the document's own routes)."""
    setattr(fn, HIDDEN, True)
    return fn


def openapi(app: MicroWeb, *, title: str, version: str, dialect: str = "3.1") -> dict[str, Any]:
    """The OpenAPI document of `app` as a dict: 3.1.1 by default, 3.0.3 with
    `dialect="3.0"`. See the module rules for what it is made of."""
    if dialect not in DIALECTS:
        raise ValueError(f'openapi(): dialect is "3.1" or "3.0", got {dialect!r}')
    document = _Builder(app).document(title, version)
    return to_openapi_30(document) if dialect == "3.0" else document


@functools.cache
def _reason(status: int | str) -> str:
    if status == "default":
        return "Any other answer"
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return f"Status {status}"


def _is_mount(route: Route) -> bool:
    return route.name == "" and getattr(route.fn, "__name__", "") == "mounted"


def _status_key(status: str) -> tuple[int, str]:
    return (1, status) if not status.isdigit() else (0, status.zfill(3))


class _Builder:
    def __init__(self, app: MicroWeb) -> None:
        self.routes = app.routes
        self.schemas = Schemas()
        self.chains = Chains(self.routes)
        self.defined: dict[str, Mapping[str, Any]] = {}
        self.used: dict[str, None] = {}
        self.operation_ids: set[str] = set()
        self.tags: dict[str, None] = {}
        self.mounts: list[str] = []
        self.errors: dict[bool, dict[str, Any]] = {}
        self.templates: dict[str, tuple[Template, ...]] = {}  # by route path: methods share
        for route in self.routes:
            description = description_of(route.fn)
            if description is not None:
                for name, scheme in description.schemes.items():
                    self.defined.setdefault(name, scheme)

    def document(self, title: str, version: str) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            if (
                not route.is_handler
                or route.method == WEBSOCKET
                or getattr(route.fn, HIDDEN, False)
            ):
                continue
            if _is_mount(route):
                self.mounts.append(route.path)
                continue
            methods = ALL_METHODS if route.method == METHOD_ALL else (route.method,)
            expanded = self.templates.get(route.path)
            if expanded is None:
                expanded = self.templates[route.path] = templates(route.path)
            for index, template in enumerate(expanded):
                for method in methods:
                    item = paths.setdefault(template.path, {})
                    if method.lower() in item:
                        continue  # an earlier handler answers this method and path
                    suffix = template.params[-1].name if index and template.params else ""
                    if len(methods) > 1:
                        suffix = "_".join(filter(None, (suffix, method.lower())))
                    item[method.lower()] = self.operation(route, template, method, suffix)
        document: dict[str, Any] = {
            "openapi": DIALECTS["3.1"],
            "info": {"title": title, "version": version},
            "paths": paths,
        }
        if self.tags:
            document["tags"] = [{"name": tag} for tag in self.tags]
        components: dict[str, Any] = {}
        schemas = self.schemas.components()
        if schemas:
            components["schemas"] = schemas
        if self.used:
            components["securitySchemes"] = {name: dict(self.scheme(name)) for name in self.used}
        if components:
            document["components"] = components
        if self.schemas.undescribed:
            logger.warning(
                "openapi: no schema could be made for %s; documented as any value ({})",
                ", ".join(self.schemas.undescribed),
            )
        if self.mounts:
            logger.warning(
                "openapi: mounted ASGI apps are left out of the document: %s",
                ", ".join(self.mounts),
            )
        return document

    def scheme(self, name: str) -> Mapping[str, Any]:
        return self.defined.get(name) or DEFAULT_SCHEMES[name]

    # -- one operation -----------------------------------------------------------------

    def operation(
        self, route: Route, template: Template, method: str, suffix: str
    ) -> dict[str, Any]:
        fn = route.fn
        name = _UNSAFE_ID.sub("_", str(route.name or getattr(fn, "__name__", ""))).strip("_")
        op: dict[str, Any] = {"operationId": self.unique_id(name or "operation", suffix)}
        doc = getattr(fn, "__doc__", None)
        if isinstance(doc, str) and doc.strip():
            summary, _, rest = inspect.cleandoc(doc).partition("\n\n")
            op["summary"] = " ".join(summary.split())
            if rest.strip():
                op["description"] = rest.strip()
        if route.tags:
            op["tags"] = list(route.tags)
            self.tags.update(dict.fromkeys(route.tags))
        params: dict[tuple[str, str], dict[str, Any]] = {}
        for param in template.params:
            schema: dict[str, Any] = {"type": "string"}
            if param.pattern is not None:
                schema["pattern"] = param.pattern
            entry: dict[str, Any] = {"name": param.name, "in": "path", "required": True}
            if param.wildcard:
                entry["description"] = "The rest of the path"
            params[("path", param.name)] = {**entry, "schema": schema}
        extra: dict[int, list[str]] = {}
        alternatives: list[tuple[str, ...]] = [()]
        validated = False
        where = template.sample or template.path
        for mw in self.chains.before(route, method, template.sample):
            if isinstance(mw, Validator):
                validated = True
                self.validator(mw, op, params)
                continue
            description = description_of(mw)
            if description is None:
                continue
            if description.applies is not None and not description.applies(method, where):
                continue
            for status, text in description.responses.items():
                extra.setdefault(status, [])
                if text not in extra[status]:
                    extra[status].append(text)
            if description.security:
                alternatives = [
                    tuple(dict.fromkeys((*mine, *theirs)))
                    for mine, theirs in itertools.product(alternatives, description.security)
                ]
        if params:
            op["parameters"] = list(params.values())
        op["responses"] = self.responses(route, validated, extra)
        requirements = [alt for alt in dict.fromkeys(alternatives) if alt]
        if requirements:
            op["security"] = [{name: [] for name in alt} for alt in requirements]
            for alt in requirements:
                self.used.update(dict.fromkeys(alt))
        return op

    def unique_id(self, name: str, suffix: str) -> str:
        base = f"{name}_{suffix}" if suffix else name
        candidate, n = base, 1
        while candidate in self.operation_ids:
            n += 1
            candidate = f"{base}_{n}"
        self.operation_ids.add(candidate)
        return candidate

    def validator(
        self, validator: Validator, op: dict[str, Any], params: dict[tuple[str, str], Any]
    ) -> None:
        target, kind = validator.target, validator.schema
        if inspect.isroutine(kind) or (not isinstance(kind, type) and not _is_type_form(kind)):
            # A callable: nothing to read its fields from; its docstring says what it takes.
            doc = inspect.getdoc(kind)
            if target in ("json", "form"):
                schema = {"description": doc} if doc else {}
                op["requestBody"] = {"required": True, "content": _body_content(target, schema)}
            return
        if target in ("json", "form"):
            schema = self.schemas.schema(kind)
            binary = target == "form" and self.has_files(kind)
            content = _body_content(target, schema, multipart_only=binary)
            op["requestBody"] = {"required": True, "content": content}
            return
        fields = self.schemas.fields(kind)
        if fields is None:
            return
        properties, required = fields
        place = _PARAM_PLACES[target]
        for name, prop in properties.items():
            key = (place, name)
            if place == "path":
                if key not in params:
                    continue  # a field the path does not have: never bound
                pattern = params[key]["schema"].get("pattern")
                schema = dict(prop)
                if pattern is not None and schema.get("type") == "string":
                    schema.setdefault("pattern", pattern)
                params[key]["schema"] = schema
                continue
            param = {"name": name, "in": place, "required": name in required, "schema": prop}
            if isinstance(prop, dict) and isinstance(prop.get("description"), str):
                param["description"] = prop["description"]
            params[key] = param

    def has_files(self, kind: Any) -> bool:
        fields = self.schemas.fields(kind)
        if fields is None:
            return False
        for prop in fields[0].values():
            items = prop.get("items", {}) if isinstance(prop, dict) else {}
            if "binary" in (prop.get("format"), items.get("format")):
                return True
        return False

    def responses(
        self, route: Route, validated: bool, extra: dict[int, list[str]]
    ) -> dict[str, Any]:
        responses: dict[str, dict[str, Any]] = {}
        raised: set[str] = set()  # statuses the handler answers by raising HTTPException
        for status, model in declared_models(route.fn, route.responses).items():
            response: dict[str, Any] = {"description": _reason(status)}
            if isinstance(model, type) and issubclass(model, HTTPException):
                response["content"] = self.error_content()  # microweb's own answer
                raised.add(str(status))
            elif model is not None:
                schema = self.schemas.schema(model)
                response["content"] = {"application/json": {"schema": schema}}
            responses[str(status)] = response
        ours: dict[int, dict[str, Any]] = {}
        if validated:
            ours[400] = {
                "description": "The input does not match its schema",
                "content": self.error_content(validation=True),
            }
        for status, texts in sorted(extra.items()):
            text = "; ".join(texts)
            if status in ours:
                ours[status]["description"] += f"; {text}"
            elif 300 <= status <= 399:
                ours[status] = {
                    "description": text,
                    "headers": {"Location": {"schema": {"type": "string"}}},
                }
            else:
                ours[status] = {"description": text, "content": self.error_content()}
        for status, response in ours.items():
            mine = responses.get(str(status))
            if mine is None or "content" not in mine or str(status) in raised:
                responses[str(status)] = response
        if not responses:
            responses["default"] = {"description": "The handler's answer"}
        return {key: responses[key] for key in sorted(responses, key=_status_key)}

    def error_content(self, *, validation: bool = False) -> dict[str, Any]:
        """microweb's own error answer in each form a client may accept; one object shared
        by every response that has it (perf: not one per route)."""
        content = self.errors.get(validation)
        if content is None:
            error = self.schemas.fixed("Error", ERROR_BODY)
            if validation:
                failed = self.schemas.fixed("ValidationError", VALIDATION_BODY)
                error = {"anyOf": [failed, error]}
            text = {"schema": {"type": "string"}}
            content = {"application/json": {"schema": error}, "text/plain": text, "text/html": text}
            self.errors[validation] = content
        return content


def _is_type_form(kind: Any) -> bool:
    return typing.get_origin(kind) is not None


def _body_content(
    target: str, schema: dict[str, Any], *, multipart_only: bool = False
) -> dict[str, Any]:
    if target == "json":
        return {"application/json": {"schema": schema}}
    types: Iterable[str] = (
        ("multipart/form-data",)
        if multipart_only
        else ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    return {media: {"schema": schema} for media in types}
