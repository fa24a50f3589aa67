"""`PathSet`: a set of paths written as route paths, for options that name paths
(`unless(paths)`, `csrf(exclude=)`).

Rules:
- A path is written as a route is (Hono's syntax: `/webhooks/*` is `/webhooks` and
  everything below it, `/users/:id`, `*` alone for every path) and matched by the
  same trie router, so an option that names paths means what a route with that path
  would match.
- Every path starts with `/` (or is `*`); another is a ValueError naming the option.
"""

from __future__ import annotations

from collections.abc import Iterable

from .base import METHOD_ALL
from .trie import TrieRouter

__all__ = ["PathSet"]


class PathSet:
    """Whether a request path is one of `paths` (route syntax)."""

    __slots__ = ("_router",)

    def __init__(self, paths: str | Iterable[str], who: str) -> None:
        listed = [paths] if isinstance(paths, str) else list(paths)
        self._router: TrieRouter[bool] | None = None
        for path in listed:
            if not isinstance(path, str) or not path.startswith(("/", "*")):
                raise ValueError(f"{who}: paths are route paths like '/webhooks/*', got {path!r}")
            if self._router is None:
                self._router = TrieRouter()
            self._router.add(METHOD_ALL, path, True)

    def __contains__(self, path: str) -> bool:
        return self._router is not None and bool(self._router.match("GET", path)[0])
