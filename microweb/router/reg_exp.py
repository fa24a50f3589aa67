# RegExpRouter: a port of Hono's RegExpRouter (src/router/reg-exp-router/
# {router,node,trie,matcher}.ts). The fast router; SmartRouter tries it first.
#
# Rules:
# - `add` only records routes. Every handler list is complete when `add` returns: a
#   wildcard route ("*", "/api/*") is appended to every path it covers that is already
#   registered, and a new path starts with a copy of the handlers of the longest wildcard
#   path covering it. So a result needs no sorting or merging at match time.
# - The first `match` builds, per method, a static map {path: prebuilt result} and ONE
#   regex for all dynamic paths, compiled from a character trie (Node.build_regexp_str).
#   Each alternative of that regex ends with an empty marker group "()"; the marker that
#   matched is `m.lastindex` (the last group to close), which the index-replacement table
#   maps to the prebuilt handler list. The result is (handler list, m): parameter values
#   are read lazily from the match object (stash[i] == m[i]).
# - Then `match` is replaced by the built closure, and `add` raises RuntimeError.
# - A route set that one regex cannot express without ambiguity (e.g. "/:a/x" with
#   "/b/:c", or two different labels at the same place) raises UnsupportedPathError, from
#   `add`; SmartRouter then falls back to TrieRouter.
# - JS -> Python regex: the dynamic regex is applied with `fullmatch` instead of ending each
#   alternative with `$()` (same backtracking order, and a strict end like JS `$`); every
#   literal character is re.escape()d (Hono escapes only some meta characters).
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from microweb.router import (
    MESSAGE_MATCHER_IS_ALREADY_BUILT,
    METHOD_ALL,
    Result,
    UnsupportedPathError,
)
from microweb.router._paths import LABEL_RE, check_optional_parameter

__all__ = ["RegExpRouter"]

T = TypeVar("T")

LABEL_REG_EXP_STR = "[^/]+"
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

    def insert(self, path: str, is_static: bool) -> None:
        if is_static:
            # a static path has no pattern; every character is a literal token
            self._root.insert(list(path), 0, [], self._context, True)
            return

        param_assoc: ParamAssoc = []
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

        # pattern (:label, :label{0-9]+}, ...), /* wildcard, character
        tokens = _TOKEN_RE.findall(marked_path)
        for mark_, original in reversed(groups):
            for j in range(len(tokens) - 1, -1, -1):
                if mark_ in tokens[j]:
                    tokens[j] = tokens[j].replace(mark_, original, 1)
                    break

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


# (fullmatch of the dynamic regex, handler data by capture group number, static map)
_Matcher = tuple[
    Callable[[str], re.Match[str] | None],
    list[HandlerData[T] | None],
    dict[str, Result[T]],
]

_HandlerWithMetadata = tuple[T, str]  # (handler, path it was registered with)
_HandlerMap = dict[str, dict[str, list[_HandlerWithMetadata[T]]]]  # method -> path -> list

_EMPTY_PARAM: tuple[str, ...] = ()
_WILDCARD_PATH_RE = re.compile(
    # "/:label" (or "/:label{[^/]+}", the default pattern), a trailing "*" or "/*", a meta char
    r"/:[^/{}]+(?:\{\[\^/\]\+\})?(?=[/{]|\Z)|/?\*\Z|([.\\+*\[^\]$()?{}|])"
)


class RegExpRouter(Generic[T]):
    name: str = "RegExpRouter"

    def __init__(self) -> None:
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
            fullmatch, handler_data, static_map = matchers.get(method, all_matcher)
            result = static_map.get(path)
            if result is not None:
                return result
            m = fullmatch(path)
            if m is None:
                return empty
            return handler_data[m.lastindex], m  # type: ignore[index,return-value]

        self.match = match  # type: ignore[method-assign]
        return match(method, path)

    def _build_all_matchers(self) -> dict[str, _Matcher[T]]:
        assert self._routes is not None
        matchers = {method: self._build_matcher(method) for method in self._routes}
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
        handler_data: dict[int, HandlerData[T]] = {}
        fullmatch, index_replacement, param_replacement = trie.build_regexp()

        for r in (self._middleware[method], self._routes[method]):
            for path, handlers in r.items():
                path_data = trie.paths.get(path)
                if path_data is None:
                    no_params: dict[str, int] = {}  # shared: results are read-only
                    static_map[path] = ([(h, no_params) for h, _ in handlers], _EMPTY_PARAM)
                    continue
                path_params = path_data[1]
                data: HandlerData[T] = []
                for h, handler_path in handlers:
                    # The handler's i-th parameter is read from the group of the matched
                    # path's i-th parameter; reversed so that a duplicate name keeps the first.
                    param_index_map: dict[str, int] = {}
                    for i, (key, _) in reversed(list(enumerate(trie.paths[handler_path][1]))):
                        param_index_map[key] = param_replacement[path_params[i][1]]
                    data.append((h, param_index_map))
                handler_data[path_data[0]] = data

        by_group: list[HandlerData[T] | None] = [
            None if i is None else handler_data.get(i) for i in index_replacement
        ]
        return fullmatch, by_group, static_map
