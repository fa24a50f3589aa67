"""The token trie behind RegExpRouter's regex (Hono's reg-exp-router/node.ts).

A route path is inserted as tokens (see `builder.tokenize`): one character, a parameter
pattern (":id", ":id{[0-9]+}") or the tail wildcard "/*". Each `TokenNode` is one token; its
children are keyed by the literal character, or by the regex source of a pattern.

Rules:
- Wildcards aside, a node's children are either single characters (literals, or one-character
  patterns such as ":x{a}") or one longer pattern; anything else at the same place would make
  the regex ambiguous. `insert` raises PathError for it, and for a path inserted twice; the
  router turns that into UnsupportedPathError.
- `build_regexp_str` writes the alternatives in Hono's order (`_compare_key`): literal,
  special pattern (":id{[0-9]+}"), plain label (":id"), wildcard; so the first alternative
  that matches is the route Hono would pick.
- JS -> Python: every literal character is re.escape()d (Hono escapes only some meta
  characters); a wildcard matches any character, line terminators included (as TrieRouter),
  where JS `.` stops at them; a "[^/]+" segment that only "/" or the end can follow is
  possessive, "[^/]++" (perf: the same matches, since giving characters back cannot help,
  but a failing path does not backtrack through it).
"""

from __future__ import annotations

import functools
import re

from microweb.router._paths import LABEL_RE

__all__ = [
    "LABEL_REG_EXP_STR",
    "ONLY_WILDCARD_REG_EXP_STR",
    "TAIL_WILDCARD_REG_EXP_STR",
    "ParamAssoc",
    "ParamCounter",
    "PathError",
    "TokenNode",
]

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
_CAPTURING_GROUP_RE = re.compile(r"\((?!\?:)")
_WHOLE_GROUP_RE = re.compile(r"^\((?!\?:)(?=[^)]+\)\Z)")

ParamAssoc = list[tuple[str, int]]  # [(param name, var index)] in path order


class PathError(Exception):
    """The trie cannot take this path (Hono's PATH_ERROR symbol)."""


class ParamCounter:
    """Counts the parameter nodes of one trie: each new one gets the next number, its var
    index, which `RegExpBuilder.build_regexp` maps to the parameter's capture group."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


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


class TokenNode:
    """One token of a route path (a character, a parameter pattern or a wildcard), and the
    subtree of the paths that go on from it."""

    __slots__ = ("_children", "_index", "_var_index")

    def __init__(self) -> None:
        # handler index of a dynamic path, or -1 for a static path terminal
        self._index: int | None = None
        self._var_index: int | None = None
        self._children: dict[str, TokenNode] = {}

    def insert(
        self,
        tokens: list[str],
        index: int,
        param_map: ParamAssoc,
        params: ParamCounter,
        is_static: bool,
    ) -> None:
        """Insert a path's `tokens`, ending at handler `index`; append (name, var index) of
        each parameter to `param_map`. Raises PathError (see the module rules)."""
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
                                raise PathError
                    next_node = node._children[regexp_str] = TokenNode()
                if name:
                    if next_node._var_index is None:
                        next_node._var_index = params.count
                        params.count += 1
                    param_map.append((name, next_node._var_index))
            else:
                next_node = node._children.get(token)
                if next_node is None:
                    for k in node._children:
                        if len(k) > 1 and k not in _WILDCARDS:
                            raise PathError
                    next_node = node._children[token] = TokenNode()
            node = next_node

        if node._index is not None:
            raise PathError
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
        raise PathError
    regexp_str = _WHOLE_GROUP_RE.sub("(?:", regexp_str, count=1)  # (a|b) => (?:a|b)
    if _CAPTURING_GROUP_RE.search(regexp_str):
        # prefix(?:a|b) is allowed, but prefix(a|b) is not
        raise PathError
    if len(regexp_str) == 1 and regexp_str in _REG_EXP_META_CHARS:
        # a single-char pattern like :x{.} is ambiguous with a literal character
        raise PathError
    return regexp_str
