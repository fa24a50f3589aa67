# Route-path helpers shared by the routers: a port of the routing half of Hono's
# src/utils/url.ts (splitPath, splitRoutingPath, getPattern, checkOptionalParameter).
#
# Rules:
# - Route syntax (as Hono): "/literal", "/:name", "/:name{regex}", "/*" (tail wildcard,
#   also matches the path without it), "*" (anything), "/prefix*" (suffix wildcard),
#   "/:name?" (optional trailing parameters, expanded into several routes).
# - JS regex semantics are kept where they matter: `\d`, `\w` and `\b` are ASCII-only
#   (re.ASCII: `:id{\d+}` never matches "٣", which int() would read as 3), a JS `$`
#   (end of input) becomes `\Z`,
#   and `RegExp.exec`/`test` become `re.search` (not `re.match`), so an alternation in a
#   user pattern behaves as it does in Hono.
from __future__ import annotations

import re
from typing import Literal, TypeAlias

__all__ = [
    "Pattern",
    "check_optional_parameter",
    "get_pattern",
    "restore_marked",
    "split_path",
    "split_routing_path",
]

# ("key in the parent's children", "param name", compiled regex or True for a plain label),
# or "*" for a wildcard segment.
Pattern: TypeAlias = tuple[str, str, "re.Pattern[str] | Literal[True]"] | Literal["*"]

_GROUP_RE = re.compile(r"\{[^}]+\}")
LABEL_RE = re.compile(r"^:([^{}]+)(?:\{(.+)\})?\Z")


def split_path(path: str) -> list[str]:
    """'/a/b' -> ['a', 'b']; only a leading empty segment is dropped ('/a/' -> ['a', ''])."""
    paths = path.split("/")
    if paths[0] == "":
        del paths[0]
    return paths


def split_routing_path(route_path: str) -> list[str]:
    """Like split_path, but a '/' inside a `{regex}` does not split the segment."""
    groups: list[tuple[str, str]] = []

    def mark(m: re.Match[str]) -> str:
        mark = f"@{m.start()}"
        groups.append((mark, m[0]))
        return mark

    paths = split_path(_GROUP_RE.sub(mark, route_path))
    restore_marked(paths, groups)
    return paths


def restore_marked(pieces: list[str], groups: list[tuple[str, str]]) -> None:
    """Put each marked group back, in place, into the last of `pieces` holding its mark;
    `groups` = [(mark, original text)] in marking order (restored last first)."""
    for mark, original in reversed(groups):
        for j in range(len(pieces) - 1, -1, -1):
            if mark in pieces[j]:
                pieces[j] = pieces[j].replace(mark, original, 1)
                break


_pattern_cache: dict[str, Pattern] = {}


def get_pattern(label: str, next_label: str | None = None) -> Pattern | None:
    """'*' -> '*'; ':id' -> (':id', 'id', True); ':id{[0-9]+}' -> (key, 'id', regex)."""
    if label == "*":
        return "*"
    match = LABEL_RE.match(label)
    if match is None:
        return None
    cache_key = f"{label}#{next_label}"
    cached = _pattern_cache.get(cache_key)
    if cached is not None:
        return cached
    pattern: Pattern
    name, regex = match[1], match[2]
    if regex:
        if next_label and next_label[0] != ":" and next_label[0] != "*":
            # The pattern may span several segments: it must be followed by the next one.
            # (Hono inserts `next` unescaped into the regex; so do we.)
            pattern = (cache_key, name, re.compile(f"^{regex}(?=/{next_label})", re.ASCII))
        else:
            pattern = (label, name, re.compile(f"^{regex}\\Z", re.ASCII))
    else:
        pattern = (label, name, True)
    _pattern_cache[cache_key] = pattern
    return pattern


def check_optional_parameter(path: str) -> list[str] | None:
    """'/api/animals/:type?' -> ['/api/animals', '/api/animals/:type']; None if no '?' param.

    Like Hono, an empty list (a trailing '?' that is not on a parameter, after one) means the
    route registers no path at all.
    """
    if not path.endswith("?") or ":" not in path:
        return None
    results: list[str] = []
    base_path = ""
    for segment in path.split("/"):
        if segment != "" and ":" not in segment:
            base_path += "/" + segment
        elif ":" in segment:
            if segment.endswith("?"):
                if not results and base_path == "":
                    results.append("/")
                else:
                    results.append(base_path)
                base_path += "/" + segment[:-1]
                results.append(base_path)
            else:
                base_path += "/" + segment
    return list(dict.fromkeys(results))
