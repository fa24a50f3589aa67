# Reverse routing: the URL path of a route, from its Hono path and the values of its params
# (what `app.url_for` returns).
#
# Rules:
# - Each `:name` (and `:name{regex}`) takes the value given for `name`, converted with
#   `str()` and percent-encoded whole (a "/" in a value becomes %2F, as routing keeps it
#   one segment); a value that the param's regex does not accept is a ValueError.
# - A missing value is a KeyError naming the param, except for optional `:name?` params,
#   which are left out with everything after them; a value for a name the path does
#   not have is a TypeError (a typo should not pass silently).
# - A tail wildcard `/*` takes the value of `wildcard` (its slashes kept, each segment
#   encoded), or is left out; a wildcard in the middle of a path or a bare `*` cannot be
#   built (ValueError).
# - `query` (a mapping; a list value repeats the name) is urlencoded after a "?".
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ._paths import LABEL_RE, split_routing_path

__all__ = ["WILDCARD", "build_path"]

# The keyword that fills a route's tail wildcard.
WILDCARD = "wildcard"


def build_path(
    route_path: str, params: Mapping[str, Any], query: Mapping[str, Any] | None = None
) -> str:
    """The path `route_path` (Hono syntax) stands for with `params` filled in."""
    pieces: list[str] = []
    used: set[str] = set()
    segments = split_routing_path(route_path)
    for i, segment in enumerate(segments):
        if segment == "*":
            if i != len(segments) - 1:
                raise ValueError(f"Cannot build a URL for {route_path!r}: a wildcard mid-path")
            if WILDCARD in params:
                used.add(WILDCARD)
                pieces.extend(quote(part, safe="") for part in str(params[WILDCARD]).split("/"))
            break
        optional = segment.endswith("?") and segment.startswith(":")
        label = LABEL_RE.match(segment[:-1] if optional else segment)
        if label is None:
            if "*" in segment:
                raise ValueError(f"Cannot build a URL for {route_path!r}: a wildcard in a segment")
            pieces.append(segment)
            continue
        name, regex = label[1], label[2]
        if name not in params:
            if optional:
                break
            raise KeyError(f"url_for: the route {route_path!r} needs a value for {name!r}")
        used.add(name)
        value = str(params[name])
        if regex is not None and re.fullmatch(regex, value, re.ASCII) is None:
            raise ValueError(
                f"url_for: {value!r} does not match the pattern {regex!r} of param {name!r}"
            )
        pieces.append(quote(value, safe=""))
    unknown = set(params) - used
    if unknown:
        names = ", ".join(map(repr, sorted(unknown)))
        raise TypeError(f"url_for: the route {route_path!r} has no param {names}")
    path = "/" + "/".join(pieces)
    if query:
        path += "?" + urlencode(query, doseq=True)
    return path
