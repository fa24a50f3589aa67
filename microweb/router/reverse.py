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
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ._paths import LABEL_RE, split_routing_path

if TYPE_CHECKING:
    from ..app import MicroWeb

__all__ = ["WILDCARD", "build_path", "url_for"]

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


def url_for(
    app: MicroWeb, name: str, /, *, query: Mapping[str, Any] | None = None, **params: Any
) -> str:
    """The path of the route named `name` with `params` filled in (percent-encoded),
    and `query` urlencoded after it: `app.url_for("user", id=42) == "/users/42"`.

    A route's name is the `name=` it was registered with, else its handler's
    `__name__`. An unknown name, or one that names routes on different paths, is a
    LookupError; a missing param is a KeyError naming it (see `router.reverse`).
    """
    paths = list(dict.fromkeys(r.path for r in app.routes if r.is_handler and r.name == name))
    if not paths:
        raise LookupError(f"url_for: no route is named {name!r}")
    if len(paths) > 1:
        raise LookupError(
            f"url_for: {name!r} names several routes ({', '.join(paths)}); "
            "give them distinct name= arguments"
        )
    return build_path(paths[0], params, query)
