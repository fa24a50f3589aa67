"""RegExpRouter's buckets: a method's many dynamic paths split into smaller regexes.

Why: a match object costs ~0.4 ns per group of its pattern, even when the first alternative
matches, so one regex of hundreds of routes is slow. A method whose buckets would leave out,
on average, more than BUCKET_THRESHOLD of its dynamic paths matches through buckets instead:
the regex of only the routes that can match the request's segment at one index.

- A request path's *key* is parts[i], with parts = path.split("/") and i a segment index
  chosen per method (of 1..4, the one that splits the paths best; 1 is the first segment of
  "/a/b"), taken as path.split("/", i + 1)[i] (perf: no split past the key). A path without
  that segment (at most i parts; rare) is keyed by its number of parts instead.
- A route's *shape* (`route_shape`) says which keys it can match: the literal at segment i,
  or "any" when that segment is not a plain literal (":id", "*", "a:b") or comes after
  something that can span segments; and its exact number of parts, or a minimum when it can
  span segments (a tail "/*" or "*", a ":p{regex}" whose regex is not provably free of "/").
  Everything is conservative: when in doubt a segment is "any" and a route spans.
- A bucket holds every path whose shape admits its key, plus the paths their handlers were
  registered with. Its regex comes from a new RegExpBuilder of only those paths, inserted in
  their original order: the same alternatives as the one regex, in the same order, minus
  some that cannot match a path with that key. So it finds the same alternative, hence the
  same handler list (prebuilt per bucket, for its group numbers) and the same parameters.
- Keys that no route has at i share the "other" bucket (the routes with "any" there),
  compiled with the method; the other buckets are compiled on first use and cached by key:
  a cache of matchers by path shape, never of results.
- A method keeps one regex when bucketing cannot be proven safe (a parameter regex with a
  back reference, inline global flags, verbose mode, ...: group numbers or meaning could
  differ between regexes; see `slash_free`) or would not pay (`Buckets.create`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Generic, NamedTuple, TypeVar

from microweb.router._paths import LABEL_RE

from .builder import RegExpBuilder, never_matches, tokenize
from .matcher import Compiled, HandlerData, HandlerWithMetadata, compile_paths
from .node import PathError

__all__ = [
    "BUCKET_THRESHOLD",
    "Buckets",
    "SegmentChoice",
    "Shape",
    "bucket_sizes",
    "choose_segment_index",
    "route_shape",
    "short_shapes",
    "slash_free",
]

T = TypeVar("T")

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


class _LazyBucket(Generic[T]):
    """A bucket not compiled yet. Its entry in `buckets` is (self.fullmatch,
    self.handler_data): the first call compiles the bucket, fills `handler_data` in place
    (the caller holds it already) and puts the compiled bucket in `buckets` instead."""

    __slots__ = ("_buckets", "_literal", "entry", "handler_data")

    def __init__(self, buckets: Buckets[T], literal: str) -> None:
        self._buckets = buckets
        self._literal = literal
        self.handler_data: list[HandlerData[T] | None] = []
        self.entry: Compiled[T] = (self.fullmatch, self.handler_data)

    def fullmatch(self, path: str) -> re.Match[str] | None:
        fullmatch, handler_data = self._buckets.resolve(self._literal)
        self.handler_data[:] = handler_data
        return fullmatch(path)


class Buckets(Generic[T]):
    """The dynamic paths of one method, split by the key of the request paths they can match
    (see the module rules)."""

    def __init__(
        self,
        builder: RegExpBuilder,
        dynamic: dict[str, list[HandlerWithMetadata[T]]],
        tokens: list[list[str]],
        shapes: list[Shape],
        index: int,
    ) -> None:
        self._builder = builder  # the method's builder of every dynamic path
        self._dynamic = dynamic
        self._paths = list(builder.paths)
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
        self._short: dict[int, Compiled[T]] = {}
        self._full: Compiled[T] | None = None
        self.other = self._build(self._any)
        self.buckets: dict[str, Compiled[T]] = {
            literal: _LazyBucket(self, literal).entry for literal in self._by_literal
        }

    @classmethod
    def create(
        cls,
        builder: RegExpBuilder,
        dynamic: dict[str, list[HandlerWithMetadata[T]]],
        threshold: int,
    ) -> Buckets[T] | None:
        """Buckets for `builder`'s dynamic paths, or None if they would not leave out more
        than `threshold` paths on average, or would not be safe (a path whose shape cannot be
        told)."""
        tokens = [tokenize(path) for path in builder.paths]
        shapes: list[Shape] = []
        for path_tokens in tokens:
            shape = route_shape(path_tokens)
            if shape is None:
                return None
            shapes.append(shape)
        choice = choose_segment_index(shapes, _KEY_SEGMENT_INDEXES)
        if threshold and len(shapes) - choice.mean <= threshold:
            return None  # the groups they save would not pay for computing the key
        return cls(builder, dynamic, tokens, shapes, choice.segment)

    def resolve(self, literal: str) -> Compiled[T]:
        """Compile the bucket of a literal some route has at `index` into `buckets`."""
        compiled = self.buckets[literal] = self._build(self._any + self._by_literal[literal])
        return compiled

    def short(self, path: str) -> Compiled[T]:
        """The bucket of a path without a segment at `index` (the hot path's fallback)."""
        parts = path.count("/") + 1
        compiled = self._short.get(parts)
        if compiled is None:
            compiled = self._short[parts] = self._build(short_shapes(self._shapes, parts))
        return compiled

    def _build(self, paths: list[int]) -> Compiled[T]:
        selected = set(paths)
        for i in paths:
            selected |= self._handler_paths[i]
        if not selected:
            return never_matches, []
        if len(selected) == len(self._paths):
            return self._full_regexp()
        builder = RegExpBuilder()
        try:
            for i in sorted(selected):
                builder.insert(self._paths[i], False, self._tokens[i])
        except PathError:  # cannot happen (a subset of a valid set), but be safe
            return self._full_regexp()
        return compile_paths(builder, self._dynamic)

    def _full_regexp(self) -> Compiled[T]:
        if self._full is None:
            self._full = compile_paths(self._builder, self._dynamic)
        return self._full
