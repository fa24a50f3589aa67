"""`MicroWeb(check_responses=True)`: each handler's JSON answers checked against what its
route declares, so a test suite catches a handler that drifted from its document.

Rules:
- A route declares a model for a status with `responses={status: Model}` (an
  HTTPException class there says the status is microweb's own error answer, not
  checked), and for 200 with a model return annotation (a dataclass, pydantic model, msgspec Struct,
  TypedDict, or a list of one) when `responses` declares no 2xx (`declared_models`;
  `microweb.openapi` documents the same).
- Only handlers that declare a model are wrapped, once, at registration. With the
  option off nothing is wrapped: no work per request.
- The handler's answer is checked when its status (else "default") has a model:
  the body must be JSON and convert to the model as `validator("json", Model)`
  converts a request body. A stream is not read. A mismatch raises
  `ResponseMismatch` naming the route and the field, which the app answers as any
  unexpected error: a logged 500 that shows the client nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .compose import Route, call_route, settle
from .http_rules import is_json, media_type
from .validation import ValidationFailed, converter

if TYPE_CHECKING:
    from .context import Context
    from .response import Response

__all__ = ["ResponseMismatch", "checked_handler", "declared_models", "is_model"]

_CHECKED = "__microweb_checked__"


class ResponseMismatch(RuntimeError):
    """A handler answered with a body that does not match its declared schema."""


def is_model(kind: Any) -> bool:
    """Whether `kind` is a model class (dataclass, pydantic, msgspec, TypedDict) or a list
    of one: what a return annotation must be to document a response."""
    if typing.get_origin(kind) is list:
        args = typing.get_args(kind)
        return len(args) == 1 and is_model(args[0])
    if not isinstance(kind, type):
        return False
    if dataclasses.is_dataclass(kind) or typing.is_typeddict(kind):
        return True
    for module, base in (("pydantic", "BaseModel"), ("msgspec", "Struct")):
        loaded = sys.modules.get(module)
        if loaded is not None and issubclass(kind, getattr(loaded, base)):
            return True
    return False


def _return_annotation(fn: Callable[..., Any]) -> Any:
    try:
        return typing.get_type_hints(fn).get("return")
    except Exception:  # an annotation that does not resolve documents nothing
        return None


def declared_models(
    fn: Callable[..., Any], responses: Mapping[int | str, Any]
) -> dict[int | str, Any]:
    """The response schemas a handler declares: `responses`, plus its model return
    annotation for 200 when `responses` names no 2xx status."""
    declared = dict(responses)
    if not any(isinstance(status, int) and 200 <= status <= 299 for status in declared):
        annotation = _return_annotation(fn)
        if annotation is not None and is_model(annotation):
            declared[200] = annotation
    return declared


def checked_handler(route: Route) -> Callable[..., Any]:
    """`route`'s handler, wrapped to check its JSON answers; the handler itself when it
    declares no model (or is wrapped already)."""
    fn = route.fn
    if getattr(fn, _CHECKED, False):
        return fn
    models = {
        status: model
        for status, model in declared_models(fn, route.responses).items()
        if model is not None and not (isinstance(model, type) and issubclass(model, Exception))
    }
    if not models:
        return fn
    checks = {status: converter(model, from_strings=False) for status, model in models.items()}
    who = f"{route.name or getattr(fn, '__name__', fn)!r} ({route.method} {route.path})"

    def check(response: Response) -> None:
        status = response.status
        check = checks.get(status) or checks.get("default")
        if check is None or response.stream is not None:
            return
        model = models.get(status, models.get("default"))
        name = getattr(model, "__name__", repr(model))
        kind = media_type(response.headers.get("content-type"))
        if not is_json(kind):
            raise ResponseMismatch(
                f"Route {who} answered {status} with {kind or 'no content type'}, "
                f"not the JSON of {name} it declares"
            )
        try:
            check(json.loads(response.body))
        except ValidationFailed as failed:
            problems = "; ".join(
                f"{issue['field'] or '(body)'}: {issue['message']}" for issue in failed.issues
            )
            raise ResponseMismatch(
                f"Route {who} answered {status} with a body that does not match {name}: {problems}"
            ) from None
        except ValueError as err:
            raise ResponseMismatch(
                f"Route {who} answered {status} with a body that is not JSON: {err}"
            ) from None

    async def checked(c: Context, next: Any = None) -> Response:
        response = await settle(c, await call_route(route, c, next), route)
        check(response)
        return response

    wrapper: Callable[..., Any] = checked
    if not route.takes_next:

        async def checked_one(c: Context) -> Response:
            return await checked(c)

        wrapper = checked_one
    # The handler's name, docstring and annotations stay readable (url_for, the CLI, openapi).
    functools.update_wrapper(wrapper, fn)
    setattr(wrapper, _CHECKED, True)
    return wrapper
