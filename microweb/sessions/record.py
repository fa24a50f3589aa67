"""`Record`: a stored session record, decoded lazily, with change tracking.

Rules:
- `stored` holds the encoded strings as last loaded or saved; `values` holds
  every present key, `UNDECODED` until first read. A key is decoded once.
- Changes are found by encoding every decoded value again and comparing it
  with its stored string: nested in-place changes count, no deep copies.
  Removed keys are the stored keys no longer in `values`. `put_encodings`
  keeps, per key, the scalar `put` stored and its encoding, so an unchanged
  scalar is not encoded twice.
- Meta fields (names starting with "__") are plain strings kept apart in
  `meta`; the ones set since the last save are in `meta_dirty`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final

from .serializer import decode, encode, is_scalar

__all__ = ["UNDECODED", "Record"]

logger = logging.getLogger("microweb.sessions")

UNDECODED: Final[Any] = object()


class Record:
    """The data of one session: `values` (live), `stored` (as the store holds it), `meta`."""

    __slots__ = ("meta", "meta_dirty", "put_encodings", "stored", "values")

    def __init__(self, record: dict[str, str] | None = None) -> None:
        """Split a loaded `record` into data and meta; None starts empty."""
        meta: dict[str, str] = {}
        stored: dict[str, str] = {}
        if record:
            for key, text in record.items():
                if key.startswith("__"):
                    meta[key] = text
                else:
                    stored[key] = text
        self.meta = meta
        self.meta_dirty: dict[str, str] = {}
        self.stored = stored
        self.values: dict[str, Any] = dict.fromkeys(stored, UNDECODED)
        self.put_encodings: dict[str, tuple[Any, str]] | None = None

    def encoded_at_put(self, key: str, value: Any, text: str) -> None:
        """Remember the encoding `put` made of a scalar, so `diff` need not redo it."""
        if is_scalar(value):
            if self.put_encodings is None:
                self.put_encodings = {}
            self.put_encodings[key] = (value, text)

    def value(self, key: str) -> Any:
        """Return the decoded value of a present key; KeyError when absent or
        undecodable (an undecodable key is dropped, with a warning)."""
        value = self.values[key]
        if value is UNDECODED:
            try:
                value = decode(self.stored[key])
            except Exception:  # stored data is untrusted: any failure drops the key
                logger.warning("Dropping undecodable session key %r", key)
                del self.values[key]
                raise KeyError(key) from None
            self.values[key] = value
        return value

    def set_meta(self, key: str, value: str) -> None:
        """Set meta field `key` (written at the next save)."""
        self.meta[key] = value
        self.meta_dirty[key] = value

    def drop_meta(self, key: str) -> None:
        """Remove meta field `key` before a record is first written (a new id)."""
        self.meta.pop(key, None)
        self.meta_dirty.pop(key, None)

    def forget_stored(self) -> None:
        """Forget what is stored (a new id is coming): the next save writes all."""
        for key in list(self.values):
            with contextlib.suppress(KeyError):
                self.value(key)
        self.stored = {}
        self.meta = {}
        self.meta_dirty = {}

    def diff(self) -> tuple[dict[str, str], list[str]]:
        """Return (changed key -> encoded value, dirty meta included; removed keys).

        Raises `TypeError` naming the key when a value changed in place into
        something that cannot be stored.
        """
        changed: dict[str, str] = {}
        stored = self.stored
        values = self.values
        put_encodings = self.put_encodings or {}
        for key, value in values.items():
            if value is UNDECODED:
                continue
            known = put_encodings.get(key)
            # perf: a scalar is immutable; the same object put earlier encodes the same.
            text = known[1] if known is not None and known[0] is value else encode(key, value)
            if stored.get(key) != text:
                changed[key] = text
        # perf: the set test is C; most saves remove nothing and skip the scan.
        removed = [] if stored.keys() <= values.keys() else [k for k in stored if k not in values]
        changed.update(self.meta_dirty)
        return changed, removed

    def saved(self, changed: dict[str, str], removed: list[str]) -> None:
        """Record that `changed` and `removed` (from `diff`) are now stored."""
        for key, text in changed.items():
            if not key.startswith("__"):
                self.stored[key] = text
        for key in removed:
            self.stored.pop(key, None)
        self.meta_dirty.clear()

    def full(self) -> dict[str, str]:
        """Return the whole record as it stands: every key encoded, meta included."""
        record = dict(self.meta)
        for key, value in self.values.items():
            record[key] = self.stored[key] if value is UNDECODED else encode(key, value)
        return record
