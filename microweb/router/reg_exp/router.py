"""RegExpRouter (Hono's reg-exp-router/router.ts): the fast router; SmartRouter tries it first.

Rules:
- `add` only records routes. Every handler list is complete when `add` returns: a wildcard
  route ("*", "/api/*") is appended to every path it covers that is already registered, and
  a new path starts with a copy of the handlers of the longest wildcard path covering it. So
  a result needs no sorting or merging at match time.
- The first `match` builds, per method, a static map {path: prebuilt result} and the regex
  of the dynamic paths (matcher.py), which buckets split when they are many (buckets.py).
  Then `match` is replaced by the built closure, and `add` raises RuntimeError.
- A route set that one regex cannot express without ambiguity (e.g. "/:a/x" with "/b/:c",
  or two different labels at the same place) raises UnsupportedPathError, from `add`;
  SmartRouter then falls back to TrieRouter. (Buckets do not change which route sets are
  accepted.)
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

from microweb.router._paths import check_optional_parameter
from microweb.router.base import (
    MESSAGE_MATCHER_IS_ALREADY_BUILT,
    METHOD_ALL,
    Result,
    UnsupportedPathError,
)

from .buckets import BUCKET_THRESHOLD, Buckets
from .builder import RegExpBuilder
from .matcher import (
    EMPTY_PARAM,
    HandlerWithMetadata,
    Matcher,
    compile_paths,
    make_match,
)
from .node import (
    LABEL_REG_EXP_STR,
    ONLY_WILDCARD_REG_EXP_STR,
    TAIL_WILDCARD_REG_EXP_STR,
    PathError,
)

__all__ = ["RegExpRouter"]

T = TypeVar("T")

_HandlerMap = dict[str, dict[str, list[HandlerWithMetadata[T]]]]  # method -> path -> list

_WILDCARD_PATH_RE = re.compile(
    # "/:label" (or "/:label{[^/]+}", the default pattern), a trailing "*" or "/*", a meta char
    r"/:[^/{}]+(?:\{\[\^/\]\+\})?(?=[/{]|\Z)|/?\*\Z|([.\\+*\[^\]$()?{}|])"
)


class RegExpRouter(Generic[T]):
    """Hono's RegExpRouter (see the module rules).

    `bucketed_methods`: the methods that match their dynamic paths through buckets
    (buckets.py), known once the first `match` has built the matchers (empty before).
    Buckets change how fast a path matches, never what it matches: this is the way to tell.
    """

    name: str = "RegExpRouter"

    def __init__(self, bucket_threshold: int | None = BUCKET_THRESHOLD) -> None:
        """`bucket_threshold`: a method matches its dynamic paths through buckets (buckets.py)
        when they leave out, on average, more than this many of them; None never does, 0
        always does (when it can: tests)."""
        self._bucket_threshold = bucket_threshold
        self.bucketed_methods: frozenset[str] = frozenset()
        self._middleware: _HandlerMap[T] | None = {METHOD_ALL: {}}
        self._routes: _HandlerMap[T] | None = {METHOD_ALL: {}}
        self._builders: dict[str, RegExpBuilder] | None = {METHOD_ALL: RegExpBuilder()}
        self._wildcard_regexp_cache: dict[str, re.Pattern[str]] = {}

    def _build_wildcard_regexp(self, path: str) -> re.Pattern[str]:
        """A regex matching the *route paths* covered by the wildcard route `path`."""
        regexp = self._wildcard_regexp_cache.get(path)
        if regexp is None:

            def replace(m: re.Match[str]) -> str:
                if m[1]:
                    return "\\" + m[1]
                if m[0] == "/*":
                    return TAIL_WILDCARD_REG_EXP_STR
                if m[0] == "*":
                    return ONLY_WILDCARD_REG_EXP_STR
                return "/:" + LABEL_REG_EXP_STR

            regexp = re.compile(_WILDCARD_PATH_RE.sub(replace, path) + r"\Z", re.DOTALL | re.ASCII)
            self._wildcard_regexp_cache[path] = regexp
        return regexp

    def _find_middleware(
        self, middleware: dict[str, list[HandlerWithMetadata[T]]], path: str
    ) -> list[HandlerWithMetadata[T]] | None:
        # the longest wildcard path covering `path` (stable sort: ties in insertion order)
        for k in sorted(middleware, key=len, reverse=True):
            if self._build_wildcard_regexp(k).match(path):
                return list(middleware[k])
        return None

    def _insert_path(self, method: str, path: str) -> None:
        assert self._builders is not None
        try:
            self._builders[method].insert(path, "*" not in path and "/:" not in path)
        except PathError:
            raise UnsupportedPathError(path) from None

    def add(self, method: str, path: str, handler: T) -> None:
        middleware = self._middleware
        routes = self._routes
        if middleware is None or routes is None or self._builders is None:
            raise RuntimeError(MESSAGE_MATCHER_IS_ALREADY_BUILT)

        if method not in middleware:
            self._builders[method] = RegExpBuilder()
            for handler_map in (middleware, routes):
                handler_map[method] = {}
                for p, handlers in handler_map[METHOD_ALL].items():
                    handler_map[method][p] = list(handlers)
                    self._insert_path(method, p)

        if path == "/*":
            path = "*"
        methods = list(middleware) if method == METHOD_ALL else [method]

        if path.endswith("*"):
            re_ = self._build_wildcard_regexp(path)
            for m in methods:
                if path not in middleware[m]:
                    self._insert_path(m, path)
                    middleware[m][path] = self._inherited_handlers(m, path)
            for handler_map in (middleware, routes):
                for m in methods:
                    for p, handlers in handler_map[m].items():
                        if re_.match(p):
                            handlers.append((handler, path))
            return

        paths = check_optional_parameter(path)
        for p in [path] if paths is None else paths:
            for m in methods:
                route_handlers = routes[m].get(p)
                if route_handlers is None:
                    self._insert_path(m, p)
                    route_handlers = routes[m][p] = self._inherited_handlers(m, p)
                route_handlers.append((handler, p))

    def _inherited_handlers(self, method: str, path: str) -> list[HandlerWithMetadata[T]]:
        # Hono: findMiddleware(middleware[m]) || findMiddleware(middleware[ALL]) || [];
        # an empty list found is a result (JS [] is truthy), hence the `is None` tests.
        assert self._middleware is not None
        found = self._find_middleware(self._middleware[method], path)
        if found is not None:
            return found
        found = self._find_middleware(self._middleware[METHOD_ALL], path)
        return [] if found is None else found

    def match(self, method: str, path: str) -> Result[T]:
        """Build the matchers, then replace this method with the fast closure."""
        self.match = make_match(self._build_all_matchers())  # type: ignore[method-assign,assignment]
        return self.match(method, path)

    def _build_all_matchers(self) -> dict[str, Matcher[T]]:
        assert self._routes is not None
        matchers = {method: self._build_matcher(method) for method in self._routes}
        self.bucketed_methods = frozenset(m for m, v in matchers.items() if v[2] is not None)
        # release what only `add` needs
        self._middleware = self._routes = self._builders = None
        self._wildcard_regexp_cache = {}
        return matchers

    def _build_matcher(self, method: str) -> Matcher[T]:
        assert self._middleware is not None
        assert self._routes is not None
        assert self._builders is not None
        builder = self._builders[method]
        static_map: dict[str, Result[T]] = {}
        # dynamic path -> its handlers (a path in both maps keeps the routes' list, as Hono)
        dynamic: dict[str, list[HandlerWithMetadata[T]]] = {}
        for r in (self._middleware[method], self._routes[method]):
            for path, handlers in r.items():
                if path in builder.paths:
                    dynamic[path] = handlers
                    continue
                no_params: dict[str, int] = {}  # shared: results are read-only
                static_map[path] = ([(h, no_params) for h, _ in handlers], EMPTY_PARAM)

        threshold = self._bucket_threshold
        if threshold is not None and len(builder.paths) > threshold:
            buckets = Buckets.create(builder, dynamic, threshold)
            if buckets is not None:
                return (
                    static_map,
                    buckets.other,
                    buckets.buckets,
                    buckets.index + 1,
                    buckets.index,
                    buckets.short,
                )
        return static_map, compile_paths(builder, dynamic), None, 0, 0, None
