"""Cookie header parsing and Set-Cookie serialisation.

Rules:
- Parsing is lenient, as browsers are: pairs without `=`, empty names and
  undecodable values are skipped, never an error. The first pair of a name
  wins (the browser sends the most specific path first).
- Serialising is strict: a name must be an RFC 6265 token and the attributes
  valid, else `ValueError`. Values are percent-encoded outside the cookie-octet
  set (as Hono does) and decoded again on parsing, so any string round-trips.
- `__Secure-` and `__Host-` prefixed names get the attributes their prefix
  requires checked, since browsers silently drop them otherwise.
- `serialize_cookie` is the one place cookie options are checked: the session
  middleware checks its cookie's options by building its Set-Cookie once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final
from urllib.parse import quote, unquote

from .http_rules.fields import is_token

__all__ = ["parse_cookie_header", "serialize_cookie"]

# cookie-octet (RFC 6265 4.1.1) minus "%", which we use for escaping.
_SAFE_VALUE_CHARS: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\%')
_SAME_SITE: Final = {"lax": "Lax", "strict": "Strict", "none": "None"}


def parse_cookie_header(header: str) -> dict[str, str]:
    """Return the cookies of a `Cookie` header as a name -> value dict."""
    cookies: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        if not sep:
            continue
        name = name.strip()
        if not name or name in cookies:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if "%" in value:
            try:
                value = unquote(value, errors="strict")
            except UnicodeDecodeError:
                continue
        cookies[name] = value
    return cookies


def validate_cookie_name(name: str) -> None:
    """Raise `ValueError` unless `name` is a valid cookie name (an RFC 6265 token)."""
    if not is_token(name):
        raise ValueError(f"Invalid cookie name: {name!r}")


def serialize_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    expires: datetime | int | float | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = False,
    same_site: object = "lax",
    partitioned: bool = False,
) -> str:
    """Return the value of a `Set-Cookie` header; `expires` is a datetime or a Unix time.

    `same_site` is "lax", "strict", "none" (any case) or None; anything else is a
    ValueError naming it (typed `object` so that the compiled build, which checks
    declared types, raises that ValueError too)."""
    validate_cookie_name(name)
    parts = [f"{name}={quote(value, safe=_SAFE_VALUE_CHARS)}"]
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
    if expires is not None:
        if not isinstance(expires, datetime):
            expires = datetime.fromtimestamp(expires, tz=UTC)
        elif expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        parts.append(f"Expires={format_datetime(expires.astimezone(UTC), usegmt=True)}")
    if domain:
        _check_attribute("domain", domain)
        parts.append(f"Domain={domain}")
    if path:
        _check_attribute("path", path)
        parts.append(f"Path={path}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        attribute = _SAME_SITE.get(same_site.lower()) if isinstance(same_site, str) else None
        if attribute is None:
            raise ValueError(f"same_site must be 'lax', 'strict' or 'none', got {same_site!r}")
        if attribute == "None" and not secure:
            raise ValueError("same_site='none' requires secure=True (browsers drop it otherwise)")
        parts.append(f"SameSite={attribute}")
    if partitioned:
        if not secure:
            raise ValueError("partitioned cookies require secure=True")
        parts.append("Partitioned")
    if name.startswith(("__Secure-", "__Host-")) and not secure:
        raise ValueError(f"A cookie named {name!r} requires secure=True")
    if name.startswith("__Host-") and (domain or path != "/"):
        raise ValueError(f"A cookie named {name!r} requires path='/' and no domain")
    return "; ".join(parts)


def _check_attribute(kind: str, value: str) -> None:
    if any(ch in value for ch in ";\r\n\x00") or not value.isascii():
        raise ValueError(f"Invalid cookie {kind}: {value!r}")
