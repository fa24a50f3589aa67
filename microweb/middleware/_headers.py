"""Header helpers the built-in middleware share."""

from __future__ import annotations

from ..datastructures import Headers

__all__ = ["append_vary", "header_tokens"]


def header_tokens(value: str | None) -> list[str]:
    """The comma-separated tokens of a header value, stripped, empty ones dropped."""
    if not value:
        return []
    return [token.strip() for token in value.split(",") if token.strip()]


def append_vary(headers: Headers, name: str) -> None:
    """Add `name` to `Vary` unless it (or `*`) is there already; never overwrite it."""
    values = headers.getall("vary")
    present = [t.lower() for value in values for t in header_tokens(value)]
    if "*" in present or name.lower() in present:
        return
    headers["vary"] = ", ".join([*values, name])
