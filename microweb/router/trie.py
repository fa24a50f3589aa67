# TrieRouter: a port of Hono's TrieRouter (src/router/trie-router/{router,node}.ts).
#
# It accepts every route syntax (it is SmartRouter's fallback) at the cost of walking a
# segment trie on each match. Rules:
# - One node per path segment; a node's `children` is keyed by the literal segment, or by
#   the pattern key for ":name", ":name{re}" and "*" segments, which are also listed in
#   `patterns` (in insertion order) because they have to be tried on every segment.
# - Every inserted route gets a global, increasing score; the matching handler sets are
#   sorted by it, so the result is in registration order whatever the trie shape.
# - Unlike Hono, the per-search parameter maps travel with the nodes being visited as
#   (node, params) pairs instead of being stored on the nodes, so a search leaves no state
#   behind (safe to share between threads).
# - Result shape: (entries, None) with entries = [(handler, {name: raw value})].
# - perf: the result of every path registered without a pattern (no ":" or "*") is the
#   trie's own answer, computed in advance per method on the first `match` after an `add`
#   (a new route may match any path), so such a request is one dict lookup. Those results
#   are shared between calls, as RegExpRouter's static ones.
from __future__ import annotations

import itertools
import re
from typing import Final, Generic, TypeVar

from microweb.router._paths import (
    Pattern,
    check_optional_parameter,
    get_pattern,
    split_path,
    split_routing_path,
)
from microweb.router.base import METHOD_ALL, Result

__all__ = ["SegmentNode", "TrieRouter"]

T = TypeVar("T")

Params = dict[str, str]
# (method, handler, parameter names of the route, score)
_HandlerSet = tuple[str, T, list[str], int]
# (score, handler, params) as collected by a search
_Found = tuple[int, T, Params]

_EMPTY_PARAMS: Final[Params] = {}  # identity-checked sentinel; never mutated
_order = itertools.count(1)  # Hono's module-global `order`: registration order across nodes


class SegmentNode(Generic[T]):
    """One segment of a route path in the trie (the root: before the first one), with the
    handlers of the routes that end here and the segments that go on from it."""

    __slots__ = ("children", "methods", "pattern", "patterns")

    def __init__(self) -> None:
        self.methods: list[_HandlerSet[T]] = []
        self.children: dict[str, SegmentNode[T]] = {}
        self.patterns: list[SegmentNode[T]] = []
        self.pattern: Pattern | str | None = None

    def insert(self, method: str, path: str, handler: T) -> None:
        cur_node = self
        parts = split_routing_path(path)
        possible_keys: dict[str, None] = {}  # an ordered set

        for i, part in enumerate(parts):
            next_part = parts[i + 1] if i + 1 < len(parts) else None
            pattern: Pattern | str | None = get_pattern(part, next_part)
            if pattern is None and next_part is None and part and part.find("*") == len(part) - 1:
                pattern = part  # suffix wildcard: "/assets*"
            key = pattern[0] if isinstance(pattern, tuple) else pattern or part

            child = cur_node.children.get(key)
            if child is None:
                child = cur_node.children[key] = SegmentNode()
            if pattern and not child.pattern:
                child.pattern = pattern
                cur_node.patterns.append(child)
            cur_node = child
            if isinstance(pattern, tuple):
                possible_keys[pattern[1]] = None

        cur_node.methods.append((method, handler, list(possible_keys), next(_order)))

    @staticmethod
    def _push_handler_sets(
        found: list[_Found[T]],
        node: SegmentNode[T],
        method: str,
        node_params: Params,
        params: Params | None = None,
    ) -> None:
        for m, handler, keys, score in node.methods:
            if m != method and m != METHOD_ALL:
                continue
            values: Params = {}
            for i, key in enumerate(keys):
                # Hono: `params?.[key] && !i ? params[key] : (nodeParams[key] ?? params?.[key])`
                value: str | None
                if params is not None and i == 0 and params.get(key):
                    value = params[key]
                else:
                    value = node_params.get(key)
                    if value is None and params is not None:
                        value = params.get(key)
                if value is not None:
                    values[key] = value
            found.append((score, handler, values))

    def search(self, method: str, path: str) -> tuple[list[tuple[T, Params]], None]:
        found: list[_Found[T]] = []
        push = self._push_handler_sets
        cur_nodes: list[tuple[SegmentNode[T], Params]] = [(self, _EMPTY_PARAMS)]
        parts = split_path(path)
        # nodes reached by a pattern spanning several segments, by how many more they span
        cur_nodes_queue: list[list[tuple[SegmentNode[T], Params]]] = []
        length = len(parts)
        part_offsets: list[int] | None = None

        for i in range(length):
            part = parts[i]
            is_last = i == length - 1
            temp_nodes: list[tuple[SegmentNode[T], Params]] = []

            for node, node_params in cur_nodes:
                next_node = node.children.get(part)
                if next_node is not None:
                    if is_last:
                        # '/hello/*' => match '/hello'
                        star = next_node.children.get("*")
                        if star is not None:
                            push(found, star, method, node_params)
                        push(found, next_node, method, node_params)
                    else:
                        temp_nodes.append((next_node, node_params))

                for child in node.patterns:
                    pattern = child.pattern
                    params = {} if node_params is _EMPTY_PARAMS else dict(node_params)

                    # Wildcard: '/hello/*/foo' => match '/hello/bar/foo'
                    if isinstance(pattern, str):
                        if pattern == "*" or part.startswith(pattern[:-1]):
                            push(found, child, method, node_params)
                            if pattern == "*":
                                temp_nodes.append((child, params))
                        continue

                    assert pattern is not None
                    _, name, matcher = pattern
                    if not part and matcher is True:
                        continue

                    # '/js/:filename{[a-z]+.js}' => match '/js/chunk/123.js'
                    if matcher is not True:
                        if part_offsets is None:
                            part_offsets = []
                            offset = 1 if path[:1] == "/" else 0
                            for p in parts:
                                part_offsets.append(offset)
                                offset += len(p) + 1
                        rest = path[part_offsets[i] :]
                        m = matcher.search(rest)
                        if m is not None:
                            params[name] = m[0]
                            push(found, child, method, node_params, params)
                            # '/:id{[0-9]+}/*' => match '/123'
                            if len(m[0]) == len(rest):
                                star = child.children.get("*")
                                if star is not None:
                                    push(found, star, method, node_params, params)
                            if child.children:
                                spanned = m[0].count("/")
                                while len(cur_nodes_queue) <= spanned:
                                    cur_nodes_queue.append([])
                                cur_nodes_queue[spanned].append((child, params))
                            continue

                    if matcher is True or _test(matcher, part):
                        params[name] = part
                        if is_last:
                            push(found, child, method, params, node_params)
                            star = child.children.get("*")
                            if star is not None:
                                push(found, star, method, params, node_params)
                        else:
                            temp_nodes.append((child, params))

            if cur_nodes_queue:
                temp_nodes += cur_nodes_queue.pop(0)
            cur_nodes = temp_nodes

        if len(found) > 1:
            found.sort(key=_score)
        return [(handler, params) for _, handler, params in found], None


def _test(matcher: re.Pattern[str], part: str) -> bool:
    return matcher.search(part) is not None


def _score(found: _Found[T]) -> int:
    return found[0]


class TrieRouter(Generic[T]):
    name: str = "TrieRouter"

    def __init__(self) -> None:
        self._node: SegmentNode[T] = SegmentNode()
        self._methods: set[str] = set()
        self._static_routes: list[tuple[str, str]] = []  # (method, path) without a pattern
        # static path -> method -> result; None: to compute before the next match
        self._static: dict[str, dict[str, Result[T]]] | None = None

    def add(self, method: str, path: str, handler: T) -> None:
        paths = check_optional_parameter(path)
        for p in [path] if paths is None else paths:
            self._node.insert(method, p, handler)
            if ":" not in p and "*" not in p:
                self._static_routes.append((method, p))
        self._methods.add(method)
        self._static = None

    def match(self, method: str, path: str) -> Result[T]:
        static = self._static
        if static is None:
            static = self._static = self._static_results()
        by_method = static.get(path)
        if by_method is not None:
            result = by_method.get(method)
            if result is not None:
                return result
        return self._node.search(method, path)

    def _static_results(self) -> dict[str, dict[str, Result[T]]]:
        results: dict[str, dict[str, Result[T]]] = {}
        for method, path in self._static_routes:
            by_method = results.setdefault(path, {})
            # a route for every method answers the path for each method routes have
            for m in self._methods if method == METHOD_ALL else (method,):
                if m not in by_method:
                    by_method[m] = self._node.search(m, path)
        return results
