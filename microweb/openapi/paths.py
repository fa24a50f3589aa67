"""Hono route paths as OpenAPI path templates.

Rules:
- `:name` becomes `{name}`; a `:name{regex}` constraint becomes the parameter's
  `pattern`, anchored (`^(?:regex)$`), since JSON Schema patterns search.
- An optional `:name?` gives every path it stands for (`/animals` and
  `/animals/{type}`), as the routers register them.
- A wildcard (`/*`, a bare `*`, or `/prefix*`) becomes a trailing path parameter
  named `wildcard` (`wildcard2`, ... for more), the name `app.url_for` fills it with.
- Each template comes with a sample path that the route matches (a value each
  parameter's pattern accepts), so the caller can ask a router what runs before
  the handler; a pattern none of the samples fit gives no sample (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..router._paths import LABEL_RE, check_optional_parameter, split_routing_path

__all__ = ["PathParam", "Template", "templates"]

# Values tried, in order, for a parameter with a pattern, to make a sample path.
_SAMPLES = ("1", "x", "a", "0", "abc", "a1", "1.0", "2024-01-01", "a-b", "a_b", "A")


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    pattern: str | None = None  # anchored, for JSON Schema
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    path: str  # the OpenAPI template, "/users/{id}"
    params: tuple[PathParam, ...]
    sample: str | None  # a concrete path the route matches, "/users/1"


def templates(route_path: str) -> tuple[Template, ...]:
    """The OpenAPI templates (one per expansion of optional params) of a Hono path."""
    expanded = check_optional_parameter(route_path)
    return tuple(_template(path) for path in (expanded if expanded is not None else [route_path]))


def _sample_for(regex: str) -> str | None:
    try:
        compiled = re.compile(regex)
    except re.error:
        return None
    return next((value for value in _SAMPLES if compiled.fullmatch(value)), None)


def _template(route_path: str) -> Template:
    parts: list[str] = []
    samples: list[str] | None = []
    params: list[PathParam] = []
    wildcards = 0

    def wildcard() -> str:
        nonlocal wildcards
        wildcards += 1
        name = "wildcard" if wildcards == 1 else f"wildcard{wildcards}"
        params.append(PathParam(name, wildcard=True))
        return name

    for segment in split_routing_path(route_path):
        label = LABEL_RE.match(segment)
        if label is not None:
            name, regex = label[1], label[2]
            params.append(PathParam(name, None if regex is None else f"^(?:{regex})$"))
            parts.append("{" + name + "}")
            sample = "x" if regex is None else _sample_for(regex)
            if sample is None or samples is None:
                samples = None
            else:
                samples.append(sample)
        elif "*" in segment:
            parts.append(segment.replace("*", "{" + wildcard() + "}", 1))
            if samples is not None:
                samples.append(segment.replace("*", "x", 1))
        else:
            parts.append(segment)
            if samples is not None:
                samples.append(segment)
    path = "/" + "/".join(parts)
    return Template(path, tuple(params), None if samples is None else "/" + "/".join(samples))
