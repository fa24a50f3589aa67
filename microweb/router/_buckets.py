# The shape analysis behind RegExpRouter's buckets (see reg_exp.py's header for the rules).
#
# A request path's *key* is parts[i] with parts = path.split("/"): its segment at a fixed
# index i (i = 1 is the first segment of "/a/b"); a path with no segment there (at most i
# parts, number of "/" + 1) is keyed by its number of parts instead. A route path's *shape*
# says which keys it can match: the literal segment at each index it fixes, and its exact
# number of parts (or the minimum, when it can span segments). Everything here is
# conservative: when in doubt a segment is "any" and a route "spans"; a regex we cannot
# reason about makes the whole method unbucketed.
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from microweb.router._paths import LABEL_RE

__all__ = [
    "SegmentChoice",
    "Shape",
    "bucket_sizes",
    "choose_segment_index",
    "route_shape",
    "short_shapes",
    "slash_free",
]

# escapes that match one character class which cannot contain "/"
_SLASH_FREE_CLASS_ESCAPES = frozenset("dws")
# escapes that are not a single literal character or a slash-free class: \D \W \S contain
# "/", \x2f \u002F \N{SOLIDUS} \057 can spell it, a digit is a back reference
_UNSAFE_ESCAPES = frozenset("DWSxuUN0123456789")


class _Unsupported(Exception):
    """A regex construct the analysis does not handle: do not bucket this method."""


def slash_free(regex: str) -> bool | None:
    """True if every string `regex` can match is free of "/" (provably; False if not proven).

    None if the regex uses something that makes bucketing unsafe or that the analysis does not
    follow: a back reference (group numbers differ between the full regex and a bucket's),
    global inline flags, comments, conditionals, named groups.
    """
    try:
        return _scan(regex)
    except _Unsupported:
        return None


def _scan(regex: str) -> bool:
    free = True
    i, n = 0, len(regex)
    while i < n:
        c = regex[i]
        if c == "\\":
            if i + 1 >= n:
                raise _Unsupported
            e = regex[i + 1]
            if e.isdigit():
                raise _Unsupported  # a back reference, or an octal escape
            if e == "/" or e in _UNSAFE_ESCAPES:
                free = False
            i += 2
        elif c == "[":
            i, class_free = _scan_class(regex, i + 1)
            free = free and class_free
        elif c == "(":
            if regex.startswith("(?", i):
                i = _skip_group_prefix(regex, i + 2)
            else:
                i += 1
        elif c == "." or c == "/":
            free = False
            i += 1
        else:
            # literal characters, quantifiers, anchors, alternation, group ends
            i += 1
    return free


def _skip_group_prefix(regex: str, i: int) -> int:
    """After "(?": allow (?: (?= (?! (?<= (?<! (?>, and scoped flags (?i:...) / (?-i:...)."""
    if regex.startswith((":", "=", "!", ">"), i):
        return i + 1
    if regex.startswith(("<=", "<!"), i):
        return i + 2
    j = i
    while j < len(regex) and (regex[j].isalpha() or regex[j] == "-"):
        j += 1
    # not verbose mode (?x:...): its comments would be scanned as pattern text
    if j > i and regex.startswith(":", j) and "x" not in regex[i:j]:
        return j + 1
    raise _Unsupported  # (?i) (?#...) (?P<...> (?P=...) (?(1)...) ...


def _scan_class(regex: str, i: int) -> tuple[int, bool]:
    """Scan a character class from just after "["; (index after "]", slash-free?)."""
    n = len(regex)
    negated = regex.startswith("^", i)
    if negated:
        i += 1
    has_slash = False  # "/" is in the class's listed items (a literal or a range end)
    unsafe = False  # the listed items may contain "/" some other way
    first = True
    prev: str | None = None  # the last literal item, a possible range start
    while True:
        if i >= n:
            raise _Unsupported  # unterminated: the full regex fails to compile anyway
        c = regex[i]
        if c == "]" and not first:
            i += 1
            break
        first = False
        item: str | None
        if c == "\\":
            if i + 1 >= n:
                raise _Unsupported
            e = regex[i + 1]
            i += 2
            if e in _UNSAFE_ESCAPES:
                unsafe = True  # (in a class a digit is an octal escape, not a reference)
                item = None
            elif e in _SLASH_FREE_CLASS_ESCAPES or e.isalpha():
                item = None  # \d \w \s, or a control escape such as \n \t
            else:
                item = e  # an escaped punctuation character
        elif c == "-" and prev is not None and i + 1 < n and regex[i + 1] != "]":
            end = regex[i + 1]
            if end == "\\":
                unsafe = True  # an escaped range end: do not decode it
                i += 3
            else:
                i += 2
                if ord(prev) <= ord("/") <= ord(end):
                    has_slash = True
            prev = None
            continue
        elif c == "[" and regex.startswith(("[:", "[=", "[."), i):
            raise _Unsupported  # POSIX classes are not Python syntax, but warned about
        else:
            item = c
            i += 1
        if item == "/":
            has_slash = True
        prev = item
    if negated:
        # [^.../...] excludes "/"; the other items only remove more characters
        return i, has_slash
    return i, not has_slash and not unsafe


class Shape(NamedTuple):
    # literal text of parts[0], parts[1], ... up to the first part that is not a plain literal
    # (None there), or up to the first construct that can span segments
    literals: tuple[str | None, ...]
    parts: int  # len(path.split("/")) of every request it matches (the minimum if it spans)
    spans: bool  # may match requests with more parts (a tail wildcard, a regex with "/")

    def literal_at(self, index: int) -> str | None:
        return self.literals[index] if index < len(self.literals) else None


def route_shape(tokens: Sequence[str]) -> Shape | None:
    """The shape of a dynamic route path, from the tokens RegExpRouter's trie inserts.

    None if the route uses a construct the analysis cannot vouch for (the method then keeps
    one regex).
    """
    literals: list[str | None] = []
    current: list[str] = []
    pure = True  # the current part is a plain literal so far
    positional = True  # no spanning construct seen yet: parts are where the slashes say
    slashes = 0
    spans = False
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if token == "/":  # noqa: S105 (not a password)
            if positional:
                literals.append("".join(current) if pure else None)
                current, pure = [], True
            slashes += 1
        elif token == "/*":  # noqa: S105
            # tail wildcard "(?:|/.*)": nothing, or "/" and anything
            if positional:
                literals.append("".join(current) if pure else None)
            spans, positional = True, False
        elif token == "*":  # noqa: S105
            pure = False
            if index == last:  # ".*": anything, "/" included
                spans, positional = True, False
            # elsewhere "*" is one segment, "[^/]+"
        elif len(token) == 1:
            current.append(token)
        else:
            m = LABEL_RE.match(token)
            if m is None:
                return None  # a multi-char token that is not a label is inserted as raw regex
            pure = False
            if m[2]:
                free = slash_free(m[2])
                if free is None:
                    return None
                if not free:
                    spans, positional = True, False
    if positional:
        literals.append("".join(current) if pure else None)
    return Shape(tuple(literals), slashes + 1, spans)


class SegmentChoice(NamedTuple):
    segment: int  # the segment index of the key
    largest: int  # the most routes one key can select (an upper bound)
    # the routes a request for a random route selects, on average (an upper bound; a path
    # without the key segment counts as selecting every route)
    mean: float


def bucket_sizes(shapes: Sequence[Shape], index: int) -> SegmentChoice:
    """How well keys on segment `index` split `shapes` (sizes count routes, not regexes)."""
    literals: Counter[str] = Counter()  # routes with a literal at `index`
    any_literal = 0  # routes that match paths with any segment at `index`
    for shape in shapes:
        literal = shape.literal_at(index)
        if literal is not None:
            literals[literal] += 1
        elif shape.spans or shape.parts > index:
            any_literal += 1
    # the largest bucket: of a path with a segment at `index`, or of one without (by parts)
    largest = max(
        any_literal + max(literals.values(), default=0),
        *(len(short_shapes(shapes, parts)) for parts in range(1, index + 1)),
    )

    total = 0
    for shape in shapes:
        literal = shape.literal_at(index)
        if literal is not None:
            total += any_literal + literals[literal]
        elif not shape.spans and shape.parts <= index:
            # perf: its paths lack the key segment and take a slow lookup (an exception),
            # which costs about as much as a regex of every route
            total += len(shapes)
        else:
            total += largest  # its paths may have any segment at `index`
    return SegmentChoice(index, largest, total / len(shapes) if shapes else 0.0)


def short_shapes(shapes: Sequence[Shape], parts: int) -> list[int]:
    """The positions in `shapes` of the routes that can match a path of `parts` parts."""
    return [
        i
        for i, shape in enumerate(shapes)
        if shape.parts == parts or (shape.spans and shape.parts <= parts)
    ]


def choose_segment_index(shapes: Sequence[Shape], candidates: Sequence[int]) -> SegmentChoice:
    """The segment index (among `candidates`, smallest first) whose keys split `shapes` best.

    A larger index must at least halve the mean bucket size to be chosen: its key is missing
    from shorter request paths, which then take a slower lookup.
    """
    best: SegmentChoice | None = None
    for index in candidates:
        choice = bucket_sizes(shapes, index)
        if best is None or choice.mean * 2 <= best.mean:
            best = choice
    assert best is not None
    return best
