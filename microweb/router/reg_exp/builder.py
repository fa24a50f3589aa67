"""RegExpBuilder: one method's route paths in, its dynamic regex out (Hono's
reg-exp-router/trie.ts, class Trie).

Rules:
- `insert` tokenizes a path and adds it to a `TokenNode` trie. A static path is inserted only
  to find conflicts (the router serves it from a dict); a dynamic path gets the next handler
  index, and `paths` remembers it with its parameters' var indexes.
- `build_regexp` writes the trie as one regex. Each alternative ends with an empty marker
  group "()", the last group to close when it matches, so `m.lastindex` says which path
  matched: `index_replacement` maps that group number to the path's handler index, and
  `param_replacement` a var index to the group of its parameter.
- The regex is applied with `fullmatch` where Hono ends each alternative with `$()`: the same
  backtracking order, and a strict end like JS `$`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from microweb.router._paths import restore_marked

from .node import ParamAssoc, ParamCounter, TokenNode

__all__ = ["BuiltRegExp", "RegExpBuilder", "never_matches", "tokenize"]

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
    restore_marked(tokens, groups)
    return tokens


class BuiltRegExp(NamedTuple):
    fullmatch: Callable[[str], re.Match[str] | None]
    index_replacement: list[int | None]  # capture group number -> handler index
    param_replacement: list[int]  # var index -> capture group number


def never_matches(path: str) -> re.Match[str] | None:
    """The `fullmatch` of a regex without alternatives."""
    return None


class RegExpBuilder:
    __slots__ = ("_next_index", "_params", "_root", "paths")

    def __init__(self) -> None:
        self._params = ParamCounter()
        self._root = TokenNode()
        self._next_index = 0  # the handler index of the next dynamic path
        # dynamic path -> (handler index, param assoc); static paths are not registered
        self.paths: dict[str, tuple[int, ParamAssoc]] = {}

    def insert(self, path: str, is_static: bool, tokens: list[str] | None = None) -> None:
        """Insert `path`; `tokens`: its tokenize() result, if known already. Raises PathError
        when the trie cannot take it."""
        if is_static:
            # a static path has no pattern; every character is a literal token
            self._root.insert(list(path), 0, [], self._params, True)
            return

        param_assoc: ParamAssoc = []
        if tokens is None:
            tokens = tokenize(path)
        self._root.insert(tokens, self._next_index, param_assoc, self._params, False)
        self.paths[path] = (self._next_index, param_assoc)
        self._next_index += 1

    def build_regexp(self) -> BuiltRegExp:
        regexp = self._root.build_regexp_str()
        if not regexp:
            return BuiltRegExp(never_matches, [], [])

        capture_index = 0
        index_replacement: list[int | None] = [None]  # group 0 is the whole match
        param_replacement: list[int] = [0] * self._params.count

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
        return BuiltRegExp(
            re.compile(regexp, re.ASCII).fullmatch, index_replacement, param_replacement
        )
