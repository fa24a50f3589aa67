"""The router interface: what every router implements, and the helpers they share.

This is a port of Hono's routers (src/router.ts and src/router/*). The rules:

- A router maps (method, path) to *every* handler whose route matches, in registration
  order. Middleware is just a route registered with METHOD_ALL and/or a wildcard path
  ("*", "/api/*"); it is returned alongside the endpoint handlers.
- `add` is called for every route first; the first `match` may freeze the route table
  (RegExpRouter and SmartRouter do). Adding after that raises RuntimeError.
- A router that cannot express a route set raises UnsupportedPathError, from `add` or at
  the latest from the first `match`. SmartRouter catches it and falls back to the next
  router (RegExpRouter -> TrieRouter).
- Paths are matched as given: no percent-decoding, no trailing-slash folding. Parameter
  values are returned raw; decoding them is the application's job.
- A result is one of two shapes (Hono's Result<T>):
    (entries, stash): entries = [(handler, {name: group index})], value = stash[index];
                      for RegExpRouter the stash is the re.Match itself (lazy params).
    (entries, None):  entries = [(handler, {name: value})].
  `resolve_params` (from microweb.urls, which the request uses too) turns one entry's map
  into {name: value}. A parameter that the route declares but that was not bound by this
  match is absent, never None.
- Results may be shared between calls (static routes return a prebuilt result): callers
  must not mutate them.
"""

from __future__ import annotations

from typing import Final, Protocol, TypeAlias, TypeVar

from microweb.urls import ParamStash, resolve_params

__all__ = [
    "MESSAGE_MATCHER_IS_ALREADY_BUILT",
    "METHOD_ALL",
    "ParamStash",
    "Result",
    "Router",
    "UnsupportedPathError",
    "resolve_params",
]

METHOD_ALL: Final = "ALL"
MESSAGE_MATCHER_IS_ALREADY_BUILT = "Can not add a route since the matcher is already built."

T = TypeVar("T")


class UnsupportedPathError(Exception):
    """The route set cannot be expressed by this router (try another one)."""


Result: TypeAlias = (
    tuple[list[tuple[T, dict[str, int]]], ParamStash] | tuple[list[tuple[T, dict[str, str]]], None]
)


class Router(Protocol[T]):
    name: str

    def add(self, method: str, path: str, handler: T) -> None: ...

    def match(self, method: str, path: str) -> Result[T]: ...
