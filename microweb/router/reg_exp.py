# RegExpRouter: a port of Hono's RegExpRouter (src/router/reg-exp-router/
# {router,node,trie,matcher}.ts). The fast router; SmartRouter tries it first.
#
# Rules:
# - `add` only records routes. Every handler list is complete when `add` returns: a
#   wildcard route ("*", "/api/*") is appended to every path it covers that is already
#   registered, and a new path starts with a copy of the handlers of the longest wildcard
#   path covering it. So a result needs no sorting or merging at match time.
# - The first `match` builds, per method, a static map {path: prebuilt result} and a regex
#   for the dynamic paths, compiled from a character trie (Node.build_regexp_str).
#   Each alternative of that regex ends with an empty marker group "()"; the marker that
#   matched is `m.lastindex` (the last group to close), which the index-replacement table
#   maps to the prebuilt handler list. The result is (handler list, m): parameter values
#   are read lazily from the match object (stash[i] == m[i]).
# - That is ONE regex of all of a method's dynamic paths, unless buckets would leave out
#   more than BUCKET_THRESHOLD of them on average: then the paths are bucketed (perf: a
#   match object costs ~0.4 ns per group of its pattern, even when the first alternative
#   matches, so one regex of hundreds of routes is slow).
#   - A request's key is parts[i], with parts = path.split("/") and i a segment index chosen
#     per method (of 1..4, the one that splits the paths best; 1 is the first segment of
#     "/a/b"), taken as path.split("/", i + 1)[i] (perf: no split past the key). A path
#     without that segment (at most i parts; rare) is keyed by its number of parts instead.
#   - A route's shape (_buckets.route_shape) says which keys it can match: the literal at
#     segment i, or "any" when that segment is not a plain literal (":id", "*", "a:b") or
#     comes after something that can span segments; its exact number of parts, or a minimum
#     when it can span segments (a tail "/*" or "*", a ":p{regex}" whose regex is not
#     provably free of "/": conservative, anything unknown spans).
#   - A bucket holds every path whose shape admits its key, plus the paths their handlers
#     were registered with. Its regex comes from a new Trie of only those paths, inserted in
#     their original order: the same alternatives as the one regex, in the same order
#     (compareKey), minus some that cannot match a path with that key. So it finds the same
#     alternative, hence the same prebuilt handler list (computed per bucket, for its group
#     numbers), and the same parameters.
#   - Segments that no route has at i share the "other" bucket (the routes with "any"
#     there), compiled with the method; the other buckets are compiled on first use and
#     cached by key: a cache of matchers by path shape, never of results.
#   - A method keeps one regex when bucketing cannot be proven safe (a parameter regex with
#     a back reference, inline global flags, verbose mode, ...: group numbers or meaning
#     could differ between regexes) or would not pay.
# - Then `match` is replaced by the built closure, and `add` raises RuntimeError.
# - A route set that one regex cannot express without ambiguity (e.g. "/:a/x" with
#   "/b/:c", or two different labels at the same place) raises UnsupportedPathError, from
#   `add`; SmartRouter then falls back to TrieRouter. (Buckets do not change which route
#   sets are accepted.)
# - JS -> Python regex: the dynamic regex is applied with `fullmatch` instead of ending each
#   alternative with `$()` (same backtracking order, and a strict end like JS `$`); every
#   literal character is re.escape()d (Hono escapes only some meta characters); a "[^/]+"
#   segment that only "/" or the end can follow is possessive, "[^/]++" (perf: the same
#   matches, since giving characters back cannot help, but a failing path does not
#   backtrack through it).
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from microweb.router._buckets import Shape, choose_segment_index, route_shape, short_shapes
from microweb.router._paths import LABEL_RE, check_optional_parameter
from microweb.router.base import (
    MESSAGE_MATCHER_IS_ALREADY_BUILT,
    METHOD_ALL,
    Result,
    UnsupportedPathError,
)

__all__ = ["RegExpRouter"]

T = TypeVar("T")

LABEL_REG_EXP_STR = "[^/]+"
POSSESSIVE_LABEL_REG_EXP_STR = "[^/]++"
ONLY_WILDCARD_REG_EXP_STR = ".*"
TAIL_WILDCARD_REG_EXP_STR = "(?:|/.*)"

_REG_EXP_META_CHARS = frozenset(".\\+*[^]$()")
_WILDCARDS = (ONLY_WILDCARD_REG_EXP_STR, TAIL_WILDCARD_REG_EXP_STR)
# What a wildcard key compiles to: unlike JS `.`, which stops at line terminators, a wildcard
# matches any character (as in TrieRouter) while a user's `.` keeps its default meaning.
_WILDCARD_SOURCE = {
    ONLY_WILDCARD_REG_EXP_STR: "(?s:.*)",
    TAIL_WILDCARD_REG_EXP_STR: "(?:|/(?s:.*))",
}

HandlerData = list[tuple[T, dict[str, int]]]
ParamAssoc = list[tuple[str, int]]  # [(param name, var index)] in path order


class _PathError(Exception):
    """Internal: the trie cannot take this path (Hono's PATH_ERROR symbol)."""


class _Context:
    __slots__ = ("var_index",)

    def __init__(self) -> None:
        self.var_index = 0


def _compare_key(a: str, b: str) -> int:
    """Sort order: literal, special pattern (:label{[0-9]+}), common label (:label), wildcard."""
    if len(a) == 1:
        return (-1 if a < b else 1) if len(b) == 1 else -1
    if len(b) == 1:
        return 1
    # wildcard: the only wildcard (.*) precedes the tail wildcard
    if a in _WILDCARDS:
        return -1 if b == TAIL_WILDCARD_REG_EXP_STR else 1
    if b in _WILDCARDS:
        return -1
    # label
    if a == LABEL_REG_EXP_STR:
        return 1
    if b == LABEL_REG_EXP_STR:
        return -1
    if len(a) == len(b):
        return -1 if a < b else 1
    return len(b) - len(a)


_sort_key = functools.cmp_to_key(_compare_key)
_CAPTURING_GROUP_RE = re.compile(r"\((?!\?:)")
_WHOLE_GROUP_RE = re.compile(r"^\((?!\?:)(?=[^)]+\)\Z)")


class Node:
    """One character (or one pattern) of a path; the trie behind the dynamic regex."""

    __slots__ = ("_children", "_index", "_var_index")

    def __init__(self) -> None:
        # handler index of a dynamic path, or -1 for a static path terminal
        self._index: int | None = None
        self._var_index: int | None = None
        self._children: dict[str, Node] = {}

    def insert(
        self,
        tokens: list[str],
        index: int,
        param_map: ParamAssoc,
        context: _Context,
        is_static: bool,
    ) -> None:
        node = self
        last = len(tokens) - 1
        for i, token in enumerate(tokens):
            name: str | None = None
            regexp_str: str | None = None
            if len(token) == 1:
                if token == "*":  # noqa: S105 (not a password)
                    # '*' at the end matches all the trailing paths; elsewhere one segment
                    name = ""
                    regexp_str = ONLY_WILDCARD_REG_EXP_STR if i == last else LABEL_REG_EXP_STR
            elif token == "/*":  # noqa: S105
                # '/path/to/*' is /path/to(?:|/.*)
                name, regexp_str = "", TAIL_WILDCARD_REG_EXP_STR
            else:
                m = LABEL_RE.match(token)
                if m is not None:
                    name = m[1]
                    regexp_str = m[2] or LABEL_REG_EXP_STR
                    if m[2]:
                        regexp_str = _check_param_regexp(regexp_str)

            if regexp_str is not None:
                next_node = node._children.get(regexp_str)
                if next_node is None:
                    if regexp_str not in _WILDCARDS:
                        for k in node._children:
                            # a single-char pattern coexists with single-char literals as a
                            # literal does
                            if (len(regexp_str) > 1 or len(k) > 1) and k not in _WILDCARDS:
                                raise _PathError
                    next_node = node._children[regexp_str] = Node()
                if name:
                    if next_node._var_index is None:
                        next_node._var_index = context.var_index
                        context.var_index += 1
                    param_map.append((name, next_node._var_index))
            else:
                next_node = node._children.get(token)
                if next_node is None:
                    for k in node._children:
                        if len(k) > 1 and k not in _WILDCARDS:
                            raise _PathError
                    next_node = node._children[token] = Node()
            node = next_node

        if node._index is not None:
            raise _PathError
        node._index = -1 if is_static else index

    def _ends_segment(self) -> bool:
        """Whether every path through this node goes on with "/" or ends here."""
        return all(k == "/" or k == TAIL_WILDCARD_REG_EXP_STR for k in self._children)

    def build_regexp_str(self) -> str:
        """The regex source of this subtree, with markers: `#<handler index>` where a dynamic
        path ends and `@<var index>` after a parameter group. '' for static-only subtrees."""
        str_list: list[str] = []
        for k in sorted(self._children, key=_sort_key):
            c = self._children[k]
            child_str = c.build_regexp_str()
            # an empty child_str means a static-only branch, which is handled by the static map
            if not child_str:
                continue
            if k == LABEL_REG_EXP_STR and c._ends_segment():
                # perf: the segment never gives characters back (what follows needs a "/" or
                # the end), so a failed match does not backtrack through it
                k = POSSESSIVE_LABEL_REG_EXP_STR
            if c._var_index is not None:
                str_list.append(f"({k})@{c._var_index}{child_str}")
            elif len(k) == 1:
                # perf: no-op for most chars; '@' is escaped too so it can't be read as a marker
                str_list.append((re.escape(k) if k != "@" else "\\@") + child_str)
            else:
                str_list.append(_WILDCARD_SOURCE.get(k, k) + child_str)  # "*" segments

        if self._index is not None and self._index != -1:
            str_list.insert(0, f"#{self._index}")

        if not str_list:
            return ""
        if len(str_list) == 1:
            return str_list[0]
        return "(?:" + "|".join(str_list) + ")"


def _check_param_regexp(regexp_str: str) -> str:
    if regexp_str == ".*":
        raise _PathError
    regexp_str = _WHOLE_GROUP_RE.sub("(?:", regexp_str, count=1)  # (a|b) => (?:a|b)
    if _CAPTURING_GROUP_RE.search(regexp_str):
        # prefix(?:a|b) is allowed, but prefix(a|b) is not
        raise _PathError
    if len(regexp_str) == 1 and regexp_str in _REG_EXP_META_CHARS:
        # a single-char pattern like :x{.} is ambiguous with a literal character
        raise _PathError
    return regexp_str


_GROUP_RE = re.compile(r"\{[^}]+\}")
_TOKEN_RE = re.compile(r"(?::[^/]+)|(?:/\*\Z)|.", re.DOTALL)
# An escaped char (kept as is), a handler marker, or a parameter marker.
_MARKER_RE = re.compile(r"\\.|#(\d+)|@(\d+)", re.DOTALL)


def tokenize(path: str) -> list[str]:
    """A dynamic path's trie tokens: a pattern (:label, :label{[0-9]+}, ...), the tail
    wildcard "/*", or one character."""
    groups: list[tuple[str, str]] = []  # (mark, original string)

    def mark(m: re.Match[str]) -> str:
        mark = f"@\\{len(groups)}"
        groups.append((mark, m[0]))
        return mark

    # "{...}" may nest ("{[0-9]{4}}"): mark groups until none is left
    marked_path = path
    while True:
        before = len(groups)
        marked_path = _GROUP_RE.sub(mark, marked_path)
        if len(groups) == before:
            break

    tokens: list[str] = _TOKEN_RE.findall(marked_path)
    for mark_, original in reversed(groups):
        for j in range(len(tokens) - 1, -1, -1):
            if mark_ in tokens[j]:
                tokens[j] = tokens[j].replace(mark_, original, 1)
                break
    return tokens


class _BuiltRegExp(NamedTuple):
    fullmatch: Callable[[str], re.Match[str] | None]
    index_replacement: list[int | None]  # capture group number -> handler index
    param_replacement: list[int]  # var index -> capture group number


def _never(path: str) -> re.Match[str] | None:
    return None


class Trie:
    __slots__ = ("_context", "_index", "_root", "paths")

    def __init__(self) -> None:
        self._context = _Context()
        self._root = Node()
        self._index = 0
        # dynamic path -> (handler index, param assoc); static paths are not registered
        self.paths: dict[str, tuple[int, ParamAssoc]] = {}

    def insert(self, path: str, is_static: bool, tokens: list[str] | None = None) -> None:
        """Insert `path`; `tokens`: its tokenize() result, if known already."""
        if is_static:
            # a static path has no pattern; every character is a literal token
            self._root.insert(list(path), 0, [], self._context, True)
            return

        param_assoc: ParamAssoc = []
        if tokens is None:
            tokens = tokenize(path)
        self._root.insert(tokens, self._index, param_assoc, self._context, False)
        self.paths[path] = (self._index, param_assoc)
        self._index += 1

    def build_regexp(self) -> _BuiltRegExp:
        regexp = self._root.build_regexp_str()
        if not regexp:
            return _BuiltRegExp(_never, [], [])  # never matches

        capture_index = 0
        index_replacement: list[int | None] = [None]  # group 0 is the whole match
        param_replacement: list[int] = [0] * self._context.var_index

        def replace(m: re.Match[str]) -> str:
            nonlocal capture_index
            handler_index, param_index = m[1], m[2]
            if handler_index is not None:
                capture_index += 1
                index_replacement.append(int(handler_index))
                return "()"
            if param_index is not None:
                capture_index += 1
                index_replacement.append(None)
                param_replacement[int(param_index)] = capture_index
                return ""
            return m[0]

        regexp = _MARKER_RE.sub(replace, regexp)
        return _BuiltRegExp(re.compile(regexp).fullmatch, index_replacement, param_replacement)


_HandlerWithMetadata = tuple[T, str]  # (handler, path it was registered with)
_HandlerMap = dict[str, dict[str, list[_HandlerWithMetadata[T]]]]  # method -> path -> list

# A compiled dynamic regex: (its fullmatch, handler data by capture group number)
_Compiled = tuple[Callable[[str], re.Match[str] | None], list[HandlerData[T] | None]]
# Per method: (static map, compiled single regex, None, 0, 0, None), or with buckets:
# (static map, "other" bucket, buckets by key segment, maxsplit, key segment index, bucket
# of a path without the key segment).
_Matcher = tuple[
    dict[str, Result[T]],
    _Compiled[T],
    dict[str, _Compiled[T]] | None,
    int,
    int,
    Callable[[str], _Compiled[T]] | None,
]

# A method gets buckets when they leave out, on average, more than this many of its dynamic
# paths (perf: the key costs about as much as ~100 groups of one regex, and a request that
# matches no route, which creates no match object, pays for it with nothing to save.
# Measured with benchmarks/router.py: buckets lose at 37 dynamic paths of which they leave
# out 32 (misses 30% slower), are a wash at 44 of which they leave out 42, and win at 84 of
# which they leave out 83, and at 198 of which they leave out 116: GitHub's API, "/repos"
# holding 121.)
BUCKET_THRESHOLD = 50
# Segment indexes a bucket key may use: parts[1] is the first segment of "/a/b".
_KEY_SEGMENT_INDEXES = (1, 2, 3, 4)

_EMPTY_PARAM: tuple[str, ...] = ()
_WILDCARD_PATH_RE = re.compile(
    # "/:label" (or "/:label{[^/]+}", the default pattern), a trailing "*" or "/*", a meta char
    r"/:[^/{}]+(?:\{\[\^/\]\+\})?(?=[/{]|\Z)|/?\*\Z|([.\\+*\[^\]$()?{}|])"
)


class RegExpRouter(Generic[T]):
    name: str = "RegExpRouter"

    def __init__(self, bucket_threshold: int | None = BUCKET_THRESHOLD) -> None:
        """`bucket_threshold`: a method matches its dynamic paths through buckets (see the
        module header) when they leave out, on average, more than this many of them; None
        never does, 0 always does (when it can: tests)."""
        self._bucket_threshold = bucket_threshold
        self._bucketed_methods: frozenset[str] = frozenset()  # once built (for tests)
        self._middleware: _HandlerMap[T] | None = {METHOD_ALL: {}}
        self._routes: _HandlerMap[T] | None = {METHOD_ALL: {}}
        self._tries: dict[str, Trie] | None = {METHOD_ALL: Trie()}
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

            regexp = re.compile(_WILDCARD_PATH_RE.sub(replace, path) + r"\Z", re.DOTALL)
            self._wildcard_regexp_cache[path] = regexp
        return regexp

    def _find_middleware(
        self, middleware: dict[str, list[_HandlerWithMetadata[T]]], path: str
    ) -> list[_HandlerWithMetadata[T]] | None:
        # the longest wildcard path covering `path` (stable sort: ties in insertion order)
        for k in sorted(middleware, key=len, reverse=True):
            if self._build_wildcard_regexp(k).match(path):
                return list(middleware[k])
        return None

    def _insert_path(self, method: str, path: str) -> None:
        assert self._tries is not None
        try:
            self._tries[method].insert(path, "*" not in path and "/:" not in path)
        except _PathError:
            raise UnsupportedPathError(path) from None

    def add(self, method: str, path: str, handler: T) -> None:
        middleware = self._middleware
        routes = self._routes
        if middleware is None or routes is None or self._tries is None:
            raise RuntimeError(MESSAGE_MATCHER_IS_ALREADY_BUILT)

        if method not in middleware:
            self._tries[method] = Trie()
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

    def _inherited_handlers(self, method: str, path: str) -> list[_HandlerWithMetadata[T]]:
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
        matchers = self._build_all_matchers()
        all_matcher = matchers[METHOD_ALL]
        empty: Result[T] = ([], _EMPTY_PARAM)

        def match(method: str, path: str) -> Result[T]:
            # perf: the hot path. A static path is one dict lookup; a dynamic one is one
            # fullmatch, and m.lastindex (the marker group of the matched alternative)
            # picks the prebuilt handler list. Params stay in `m` until asked for.
            static_map, compiled, buckets, maxsplit, index, short = matchers.get(
                method, all_matcher
            )
            result = static_map.get(path)
            if result is not None:
                return result
            if buckets is not None:
                # perf: a match object costs ~0.4 ns per group of its pattern, so one regex
                # for hundreds of routes is slow even when its first alternative matches.
                # Instead: the regex of only the routes that can match this path's segment
                # at `index` (`compiled` is the bucket of the segments no route has there).
                # The key costs one split, no further than the key, and one dict lookup:
                # less than the groups it saves.
                try:
                    compiled = buckets.get(path.split("/", maxsplit)[index], compiled)
                except IndexError:  # rare: no segment at `index`
                    compiled = short(path)  # type: ignore[misc]
            fullmatch, handler_data = compiled
            m = fullmatch(path)
            if m is None:
                return empty
            return handler_data[m.lastindex], m  # type: ignore[index,return-value]

        self.match = match  # type: ignore[method-assign]
        return match(method, path)

    def _build_all_matchers(self) -> dict[str, _Matcher[T]]:
        assert self._routes is not None
        matchers = {method: self._build_matcher(method) for method in self._routes}
        self._bucketed_methods = frozenset(m for m, v in matchers.items() if v[2] is not None)
        # release what only `add` needs
        self._middleware = self._routes = self._tries = None
        self._wildcard_regexp_cache = {}
        return matchers

    def _build_matcher(self, method: str) -> _Matcher[T]:
        assert self._middleware is not None
        assert self._routes is not None
        assert self._tries is not None
        trie = self._tries[method]
        static_map: dict[str, Result[T]] = {}
        # dynamic path -> its handlers (a path in both maps keeps the routes' list, as Hono)
        dynamic: dict[str, list[_HandlerWithMetadata[T]]] = {}
        for r in (self._middleware[method], self._routes[method]):
            for path, handlers in r.items():
                if path in trie.paths:
                    dynamic[path] = handlers
                    continue
                no_params: dict[str, int] = {}  # shared: results are read-only
                static_map[path] = ([(h, no_params) for h, _ in handlers], _EMPTY_PARAM)

        threshold = self._bucket_threshold
        if threshold is not None and len(trie.paths) > threshold:
            buckets = _Buckets.create(trie, dynamic, threshold)
            if buckets is not None:
                return (
                    static_map,
                    buckets.other,
                    buckets.buckets,
                    buckets.index + 1,
                    buckets.index,
                    buckets.short,
                )
        return static_map, _compile(trie, dynamic), None, 0, 0, None


def _compile(trie: Trie, dynamic: dict[str, list[_HandlerWithMetadata[T]]]) -> _Compiled[T]:
    """The regex of every dynamic path of `trie`, and the handler data of each alternative."""
    fullmatch, index_replacement, param_replacement = trie.build_regexp()
    handler_data: dict[int, HandlerData[T]] = {}
    for path, (index, path_params) in trie.paths.items():
        handlers = dynamic.get(path)
        if handlers is None:
            continue
        data: HandlerData[T] = []
        for h, handler_path in handlers:
            # The handler's i-th parameter is read from the group of the matched path's
            # i-th parameter; reversed so that a duplicate name keeps the first.
            param_index_map: dict[str, int] = {}
            for i, (key, _) in reversed(list(enumerate(trie.paths[handler_path][1]))):
                param_index_map[key] = param_replacement[path_params[i][1]]
            data.append((h, param_index_map))
        handler_data[index] = data
    by_group: list[HandlerData[T] | None] = [
        None if i is None else handler_data.get(i) for i in index_replacement
    ]
    return fullmatch, by_group


class _LazyBucket(Generic[T]):
    """A bucket not compiled yet. Its entry in `buckets` is (self.fullmatch,
    self.handler_data): the first call compiles the bucket, fills `handler_data` in place
    (the caller holds it already) and puts the compiled bucket in `buckets` instead."""

    __slots__ = ("_buckets", "_literal", "entry", "handler_data")

    def __init__(self, buckets: _Buckets[T], literal: str) -> None:
        self._buckets = buckets
        self._literal = literal
        self.handler_data: list[HandlerData[T] | None] = []
        self.entry: _Compiled[T] = (self.fullmatch, self.handler_data)

    def fullmatch(self, path: str) -> re.Match[str] | None:
        fullmatch, handler_data = self._buckets.resolve(self._literal)
        self.handler_data[:] = handler_data
        return fullmatch(path)


class _Buckets(Generic[T]):
    """The dynamic paths of one method, split by the key of the request paths they can match.

    A bucket holds every path whose shape admits the key, plus the paths its handlers were
    registered with, and its regex is built by a Trie of those paths in their original order:
    the same alternatives as the single regex, in the same order, minus some that cannot match
    a path with that key, so it finds the same alternative.
    """

    def __init__(
        self,
        trie: Trie,
        dynamic: dict[str, list[_HandlerWithMetadata[T]]],
        tokens: list[list[str]],
        shapes: list[Shape],
        index: int,
    ) -> None:
        self._trie = trie  # the method's full trie: a bucket's source
        self._dynamic = dynamic
        self._paths = list(trie.paths)
        self._tokens = tokens
        self._shapes = shapes
        self.index = index
        # the paths (by position) a path with a segment at `index` can select: those with a
        # literal there, by literal, and those with any segment there
        self._by_literal: dict[str, list[int]] = {}
        self._any: list[int] = []
        for i, shape in enumerate(shapes):
            literal = shape.literal_at(index)
            if literal is not None:
                self._by_literal.setdefault(literal, []).append(i)
            elif shape.spans or shape.parts > index:
                self._any.append(i)
        position = {path: i for i, path in enumerate(self._paths)}
        # per path: the other dynamic paths its handlers were registered with
        self._handler_paths: list[set[int]] = [
            {position[p] for _, p in dynamic.get(path, ()) if p != path and p in position}
            for path in self._paths
        ]
        # the buckets of paths without a segment at `index`, by number of parts
        self._short: dict[int, _Compiled[T]] = {}
        self._full: _Compiled[T] | None = None
        self.other = self._build(self._any)
        self.buckets: dict[str, _Compiled[T]] = {
            literal: _LazyBucket(self, literal).entry for literal in self._by_literal
        }

    @classmethod
    def create(
        cls, trie: Trie, dynamic: dict[str, list[_HandlerWithMetadata[T]]], threshold: int
    ) -> _Buckets[T] | None:
        """Buckets for `trie`'s dynamic paths, or None if they would not leave out more than
        `threshold` paths on average, or would not be safe (a path whose shape cannot be
        told)."""
        tokens = [tokenize(path) for path in trie.paths]
        shapes: list[Shape] = []
        for path_tokens in tokens:
            shape = route_shape(path_tokens)
            if shape is None:
                return None
            shapes.append(shape)
        choice = choose_segment_index(shapes, _KEY_SEGMENT_INDEXES)
        if threshold and len(shapes) - choice.mean <= threshold:
            return None  # the groups they save would not pay for computing the key
        return cls(trie, dynamic, tokens, shapes, choice.segment)

    def resolve(self, literal: str) -> _Compiled[T]:
        """Compile the bucket of a literal some route has at `index` into `buckets`."""
        compiled = self.buckets[literal] = self._build(self._any + self._by_literal[literal])
        return compiled

    def short(self, path: str) -> _Compiled[T]:
        """The bucket of a path without a segment at `index` (the hot path's fallback)."""
        parts = path.count("/") + 1
        compiled = self._short.get(parts)
        if compiled is None:
            compiled = self._short[parts] = self._build(short_shapes(self._shapes, parts))
        return compiled

    def _build(self, paths: list[int]) -> _Compiled[T]:
        selected = set(paths)
        for i in paths:
            selected |= self._handler_paths[i]
        if not selected:
            return _never, []
        if len(selected) == len(self._paths):
            return self._full_regexp()
        trie = Trie()
        try:
            for i in sorted(selected):
                trie.insert(self._paths[i], False, self._tokens[i])
        except _PathError:  # cannot happen (a subset of a valid set), but be safe
            return self._full_regexp()
        return _compile(trie, self._dynamic)

    def _full_regexp(self) -> _Compiled[T]:
        if self._full is None:
            self._full = _compile(self._trie, self._dynamic)
        return self._full
