"""Media types: the type of a `Content-Type`, whether it is JSON, and what a client
prefers to read.

Rules:
- A media type is compared without its parameters and in lower case
  (`Application/JSON; charset=utf-8` is `application/json`).
- JSON is `application/json` and every `+json` suffix type (RFC 6839).
- A client prefers HTML when its `Accept` names `text/html` (browsers do; curl's `*/*`
  does not); an error is answered as HTML to it, as JSON to a client whose `Accept`
  names a JSON type, else as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import scope_headers

if TYPE_CHECKING:
    from ..types import Scope

__all__ = ["answer_form", "is_json", "media_type", "prefers_html"]


def media_type(content_type: str | None) -> str:
    """The media type of a `Content-Type` value, lower case, without parameters
    ('' when there is none)."""
    if not content_type:
        return ""
    return content_type.partition(";")[0].strip().lower()


def is_json(media: str) -> bool:
    """Whether the media type `media` (as `media_type` gives it) is JSON."""
    return media == "application/json" or media.endswith("+json")


def prefers_html(accept: str | None) -> bool:
    """Whether an `Accept` value asks for HTML (a browser's does)."""
    return accept is not None and "text/html" in accept


def answer_form(scope: Scope) -> str:
    """The form in which to answer an error, read from the request's `Accept`: "html"
    when it names text/html (a browser), "json" when it names a JSON type, else "text"
    (curl's `*/*`, or no `Accept` at all)."""
    values = scope_headers(scope, b"accept")
    accept = values[0] if values else ""
    if prefers_html(accept):
        return "html"
    if "json" in accept:
        return "json"
    return "text"
