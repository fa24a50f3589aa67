"""Small containers: response `Headers`, request `FormData` and `UploadFile`.

Headers are kept as the raw `(name, value)` byte pairs that ASGI sends, names in
lower case, so a response goes out without another copy. Values must be
latin-1 and must not contain CR, LF or NUL: header injection is an error here,
not something to clean up later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from .http_rules.fields import TOKEN

__all__ = ["FormData", "Headers", "UploadFile"]

# Names are RFC 9110 tokens (http_rules.fields); values any latin-1 but CR, LF and NUL.
_BAD_VALUE: Final = re.compile(r"[\r\n\x00]")


def _encode_name(name: str) -> bytes:
    # perf: the compiled grammar itself, not is_token(): a frame less per header set.
    if TOKEN.fullmatch(name) is None:
        raise ValueError(f"Invalid header name: {name!r}")
    return name.lower().encode("ascii")


def _encode_value(value: str) -> bytes:
    if _BAD_VALUE.search(value) is not None:
        raise ValueError(f"Header value must not contain CR, LF or NUL: {value!r}")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"Header value must be latin-1: {value!r}") from None


class Headers:
    """A mutable, case-insensitive, multi-valued header list.

    `h[name]` and `h.get(name)` return the first value, `h.getall(name)` all of
    them; `h[name] = v` replaces every value, `h.append(name, v)` adds one.
    """

    __slots__ = ("raw",)

    def __init__(
        self,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        *,
        raw: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.raw: list[tuple[bytes, bytes]] = raw if raw is not None else []
        if headers:
            items = headers.items() if isinstance(headers, Mapping) else headers
            for name, value in items:
                self.append(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.raw:
            if k == key:
                return v.decode("latin-1")
        return default

    def getall(self, name: str) -> list[str]:
        key = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k == key]

    def append(self, name: str, value: str) -> None:
        self.raw.append((_encode_name(name), _encode_value(value)))

    def setdefault(self, name: str, value: str) -> str:
        current = self.get(name)
        if current is None:
            self.append(name, value)
            return value
        return current

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        key = _encode_name(name)
        encoded = _encode_value(value)
        raw = [(k, v) for k, v in self.raw if k != key]
        raw.append((key, encoded))
        self.raw[:] = raw

    def __delitem__(self, name: str) -> None:
        key = name.lower().encode("latin-1")
        self.raw[:] = [(k, v) for k, v in self.raw if k != key]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower().encode("latin-1")
        return any(k == key for k, _ in self.raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.raw)

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for k, _ in self.raw:
            seen[k.decode("latin-1")] = None
        return list(seen)

    def items(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return sorted(self.raw) == sorted(other.raw)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


class UploadFile:
    """A file from a multipart form, held in memory: `filename`, `content_type`, `data`."""

    __slots__ = ("content_type", "data", "filename", "headers")

    def __init__(
        self,
        filename: str | None,
        data: bytes,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.filename = filename
        self.data = data
        self.content_type = content_type
        self.headers = headers or {}

    @property
    def size(self) -> int:
        return len(self.data)

    async def read(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, size={self.size})"


FormValue = str | UploadFile


class FormData(Mapping[str, Any]):
    """A read-only multi-dict: `form[name]` is the first value, `getall(name)` all of them."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, FormValue]] = ()) -> None:
        self._items: list[tuple[str, FormValue]] = list(items)

    def __getitem__(self, name: str) -> FormValue:
        for k, v in self._items:
            if k == name:
                return v
        raise KeyError(name)

    def getall(self, name: str) -> list[FormValue]:
        return [v for k, v in self._items if k == name]

    def multi_items(self) -> list[tuple[str, FormValue]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self._items))

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"
