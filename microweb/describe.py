"""What a middleware tells the API description (`microweb.openapi`) about the routes behind it.

Rules:
- A middleware factory may attach one `Description` to what it returns, with
  `describe(mw, Description(...))`; `description_of(mw)` reads it back (None
  when there is none). Nothing reads it while requests are served.
- `schemes` are the OpenAPI security schemes the middleware defines, by
  name (the session middleware defines `sessionCookie` with its real cookie
  name). `security` lists the alternatives a request may satisfy, each a
  tuple of scheme names it needs all of; the route's requirement is the
  combination of its guards'. A name no middleware of the app defines falls
  back to `DEFAULT_SCHEMES`.
- `responses` are the statuses the middleware may answer with itself
  (status -> description); `applies(method, path)`, when given, says whether
  it acts on a request at all (CSRF protection leaves safe methods alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "BASIC",
    "BEARER",
    "CSRF",
    "DEFAULT_SCHEMES",
    "JWT",
    "SESSION",
    "Description",
    "describe",
    "description_of",
]

SESSION = "sessionCookie"
CSRF = "csrfToken"
BEARER = "bearerAuth"
BASIC = "basicAuth"
JWT = "jwt"

DEFAULT_SCHEMES: Mapping[str, Mapping[str, Any]] = {
    SESSION: {"type": "apiKey", "in": "cookie", "name": "microweb_session"},
    CSRF: {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
    BEARER: {"type": "http", "scheme": "bearer"},
    BASIC: {"type": "http", "scheme": "basic"},
    JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
}

_ATTRIBUTE = "__microweb_description__"

F = TypeVar("F")


@dataclass(frozen=True)
class Description:
    """What a middleware defines, requires and may answer, for the API description."""

    schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    security: tuple[tuple[str, ...], ...] = ()
    responses: Mapping[int, str] = field(default_factory=dict)
    applies: Callable[[str, str], bool] | None = None


def describe(mw: F, description: Description) -> F:
    """Attach `description` to the middleware `mw` (a function or a Middleware object)."""
    setattr(mw, _ATTRIBUTE, description)
    return mw


def description_of(mw: object) -> Description | None:
    """The Description attached to `mw`, or None."""
    found = getattr(mw, _ATTRIBUTE, None)
    return found if isinstance(found, Description) else None
