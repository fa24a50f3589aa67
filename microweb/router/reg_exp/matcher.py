"""What RegExpRouter matches with, per method, and the `match` of the hot path (Hono's
reg-exp-router/matcher.ts).

Rules:
- A method's matcher is a static map {path: prebuilt result} and a compiled regex of its
  dynamic paths (or buckets of them, see buckets.py). Every handler list is prebuilt: the
  marker group of the alternative that matched (`m.lastindex`) picks one, and the result is
  (that list, m): parameter values stay in the match object until asked for
  (stash[i] == m[i]).
- A method without a matcher of its own (no route names it) uses the METHOD_ALL one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, TypeVar

from microweb.router.base import METHOD_ALL, Result

from .builder import RegExpBuilder

__all__ = [
    "EMPTY_PARAM",
    "Compiled",
    "HandlerData",
    "HandlerWithMetadata",
    "Matcher",
    "compile_paths",
    "make_match",
]

T = TypeVar("T")

HandlerData = list[tuple[T, dict[str, int]]]  # [(handler, {param name: group number})]
HandlerWithMetadata = tuple[T, str]  # (handler, path it was registered with)

# A compiled dynamic regex: (its fullmatch, handler data by capture group number)
Compiled = tuple[Callable[[str], re.Match[str] | None], list[HandlerData[T] | None]]
# Per method: (static map, compiled single regex, None, 0, 0, None), or with buckets:
# (static map, "other" bucket, buckets by key segment, maxsplit, key segment index, bucket
# of a path without the key segment).
Matcher = tuple[
    dict[str, Result[T]],
    Compiled[T],
    dict[str, Compiled[T]] | None,
    int,
    int,
    Callable[[str], Compiled[T]] | None,
]

EMPTY_PARAM: Final[tuple[str, ...]] = ()


def compile_paths(
    builder: RegExpBuilder, dynamic: dict[str, list[HandlerWithMetadata[T]]]
) -> Compiled[T]:
    """The regex of every dynamic path of `builder`, and the handler data of each alternative
    (`dynamic`: path -> its handlers)."""
    fullmatch, index_replacement, param_replacement = builder.build_regexp()
    handler_data: dict[int, HandlerData[T]] = {}
    for path, (index, path_params) in builder.paths.items():
        handlers = dynamic.get(path)
        if handlers is None:
            continue
        data: HandlerData[T] = []
        for h, handler_path in handlers:
            # The handler's i-th parameter is read from the group of the matched path's
            # i-th parameter; reversed so that a duplicate name keeps the first.
            param_index_map: dict[str, int] = {}
            for i, (key, _) in reversed(list(enumerate(builder.paths[handler_path][1]))):
                param_index_map[key] = param_replacement[path_params[i][1]]
            data.append((h, param_index_map))
        handler_data[index] = data
    by_group: list[HandlerData[T] | None] = [
        None if i is None else handler_data.get(i) for i in index_replacement
    ]
    return fullmatch, by_group


def make_match(matchers: dict[str, Matcher[T]]) -> Callable[[str, str], Result[T]]:
    """The `match(method, path)` that RegExpRouter installs on its first match."""
    all_matcher = matchers[METHOD_ALL]
    # perf: the static maps by method, apart: a static path costs two dict lookups, without
    # unpacking (and, compiled, type-checking) the method's whole matcher.
    statics = {method: matcher[0] for method, matcher in matchers.items()}
    all_static = all_matcher[0]
    empty: Result[T] = ([], EMPTY_PARAM)

    def match(method: str, path: str) -> Result[T]:
        # perf: the hot path. A static path is two dict lookups (its method's map, then
        # the path); a dynamic one is one fullmatch more, and m.lastindex (the marker
        # group of the matched alternative) picks the prebuilt handler list. Params stay
        # in `m` until asked for.
        result = statics.get(method, all_static).get(path)
        if result is not None:
            return result
        _, compiled, buckets, maxsplit, index, short = matchers.get(method, all_matcher)
        if buckets is not None:
            # perf: the key costs one split, no further than the key segment, and one dict
            # lookup (buckets.py says why that pays)
            try:
                compiled = buckets.get(path.split("/", maxsplit)[index], compiled)
            except IndexError:  # rare: no segment at `index`
                compiled = short(path)  # type: ignore[misc]
        fullmatch, handler_data = compiled
        m = fullmatch(path)
        if m is None:
            return empty
        return handler_data[m.lastindex], m  # type: ignore[index,return-value]

    return match
