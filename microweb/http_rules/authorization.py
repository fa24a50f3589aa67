"""The `Authorization` header (RFC 9110 section 11.6.2): its scheme and credentials.

Rules:
- The scheme is compared case-insensitively; the credentials are what follows it,
  stripped.
- A missing header and a header of another scheme are the same thing to an
  authentication middleware: no credentials of its kind. Each answers both with 401
  and its `WWW-Authenticate` challenge (basic_auth, bearer_auth and jwt alike, as RFC
  6750 section 3.1 asks: an unknown method gets the challenge without an error code).
"""

from __future__ import annotations

__all__ = ["credentials"]


def credentials(header: str | None, scheme: str) -> str | None:
    """The credentials of an `Authorization` value of `scheme` (lower case), stripped
    ('' when the scheme stands alone); None when the header is missing or of another
    scheme."""
    if not header:
        return None
    given, _, value = header.strip().partition(" ")
    if given.lower() != scheme:
        return None
    return value.strip()
