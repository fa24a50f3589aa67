"""`CookieJar`: the cookies a browser would keep, and which of them it would send.

Rules (RFC 6265 section 5): a Set-Cookie is parsed as a browser parses it, an
attribute it cannot read being skipped, never an error; Max-Age wins over
Expires; a cookie is sent only to its domain (exactly, when the header named
none), under its path, until it expires; the longest path goes first.

Secure cookies follow browsers (RFC 6265bis, "secure contexts"): they are kept
and sent only over a secure connection, which is https (wss for a WebSocket),
or plain http to the machine itself: `localhost` (and `*.localhost`),
127.0.0.0/8 and `[::1]`, as Chrome and Firefox treat them. A Secure cookie set
over any other http answer is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from .response import TestResponse

__all__ = ["Cookie", "CookieJar", "is_secure_context", "parse_set_cookie"]


def is_secure_context(scheme: str, host: str) -> bool:
    """Whether a browser treats `scheme://host` as secure (Secure cookies go there)."""
    if scheme in ("https", "wss"):
        return True
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress  # perf: lazily, as `import microweb` loads this module

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Cookie:
    """One cookie as the jar keeps it; `expires` is Unix time, None for a session cookie."""

    # perf: a plain class, where a dataclass would cost 0.6 ms at every `import microweb`
    # (`MicroWeb.request` imports this package with the app).
    __slots__ = ("domain", "expires", "host_only", "http_only", "name", "path", "secure", "value")

    def __init__(
        self,
        name: str,
        value: str,
        domain: str,
        path: str = "/",
        host_only: bool = True,
        secure: bool = False,
        http_only: bool = False,
        expires: float | None = None,
    ) -> None:
        self.name = name
        self.value = value
        self.domain = domain
        self.path = path
        self.host_only = host_only
        self.secure = secure
        self.http_only = http_only
        self.expires = expires


def parse_set_cookie(header: str, host: str) -> Cookie | None:
    """Parse one Set-Cookie header as a browser would (RFC 6265 section 5.2)."""
    pair, *attributes = header.split(";")
    name, sep, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        return None
    cookie = Cookie(name, unquote(value), host)
    max_age: float | None = None
    for attribute in attributes:
        key, _, val = attribute.strip().partition("=")
        key = key.lower()
        if key == "max-age":
            try:
                max_age = int(val)
            except ValueError:
                continue
        elif key == "expires" and max_age is None:
            from email.utils import parsedate_to_datetime

            try:
                cookie.expires = parsedate_to_datetime(val).timestamp()
            except (TypeError, ValueError):
                continue
        elif key == "domain" and val:
            cookie.domain = val.lstrip(".").lower()
            cookie.host_only = False
        elif key == "path" and val.startswith("/"):
            cookie.path = val
        elif key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.http_only = True
    if max_age is not None:
        cookie.expires = time.time() + max_age if max_age > 0 else 0.0
    return cookie


class CookieJar:
    """A small browser-like cookie jar: domain, path, Secure and expiry are honoured.

    `domain` is the host `set()` puts a cookie on when it names none (the client's host).
    """

    def __init__(self, domain: str = "testserver") -> None:
        self.domain = domain
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    def update_from(self, response: TestResponse, url: str) -> None:
        """Keep what the response's Set-Cookie headers set (it answered `url`)."""
        self.store(response.headers.getall("set-cookie"), url)

    def store(self, set_cookie_headers: Iterable[str], url: str) -> None:
        """Keep what these Set-Cookie headers, received from `url`, set."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        secure = is_secure_context(parts.scheme, host)
        for header in set_cookie_headers:
            cookie = parse_set_cookie(header, host)
            if cookie is None or (cookie.secure and not secure):
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            if cookie.expires is not None and cookie.expires <= time.time():
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    def header_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path or "/"
        now = time.time()
        secure = is_secure_context(parts.scheme, host)
        chosen = []
        for key, cookie in list(self._cookies.items()):
            if cookie.expires is not None and cookie.expires <= now:
                del self._cookies[key]
                continue
            if cookie.host_only and host != cookie.domain:
                continue
            if not cookie.host_only and not (
                host == cookie.domain or host.endswith("." + cookie.domain)
            ):
                continue
            if cookie.secure and not secure:
                continue
            if not (path == cookie.path or path.startswith(cookie.path.rstrip("/") + "/")):
                continue
            chosen.append(cookie)
        chosen.sort(key=lambda cookie: -len(cookie.path))
        if not chosen:
            return None
        return "; ".join(f"{c.name}={quote(c.value, safe='')}" for c in chosen)

    def get(self, name: str, default: str | None = None) -> str | None:
        for cookie in self._cookies.values():
            if cookie.name == name:
                return cookie.value
        return default

    def set(self, name: str, value: str, domain: str | None = None, path: str = "/") -> None:
        """Put a cookie in the jar, as if the client's host (or `domain`) had set it."""
        domain = (domain or self.domain).lower()
        self._cookies[(domain, path, name)] = Cookie(name, value, domain, path)

    def clear(self) -> None:
        self._cookies.clear()

    def __contains__(self, name: object) -> bool:
        return any(cookie.name == name for cookie in self._cookies.values())

    def __iter__(self) -> Any:
        return iter({cookie.name for cookie in self._cookies.values()})

    def __len__(self) -> int:
        return len(self._cookies)
