"""CSRF protection: a synchronizer token from the session plus an origin check.

Rules:
- GET, HEAD and OPTIONS pass untouched, and so do the paths of `exclude`,
  written as route paths (`/webhooks/*`) and matched as `unless()` matches
  its paths (`router.path_set`). Every other method must pass both
  checks below, or it is answered 403 and the handler never runs.
- Origin: where the browser says where the request comes from, it must be
  this site or a trusted origin. `Sec-Fetch-Site: same-origin` (or `none`, a
  user-typed request) passes; `cross-site` and `same-site` pass only with an
  `Origin` listed in `trusted_origins`. Without Sec-Fetch-Site, an `Origin`
  header must match the request's own origin or a trusted one.
- Token: the session's `token()` must come back in the `X-CSRF-Token` or
  `X-XSRF-Token` header, the `_token` form field or the `_token` key of a JSON
  object body (the media type is read case-insensitively: `Application/JSON`
  is JSON). It is compared in constant time, as bytes; a candidate that is
  not ASCII is a mismatch (403), whatever it holds. Tokens handed out by
  `csrf_field`/`csrf_token` are masked with a fresh one-time pad each time (as
  Django does against BREACH), so the secret never appears twice in pages.
"""

from __future__ import annotations

import base64
import hmac
import html
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from mypy_extensions import mypyc_attr

from .compose import Middleware, Next
from .describe import CSRF, SESSION, Description, describe
from .exceptions import ForbiddenError, HTTPException
from .http_rules import checked_origin, is_json, normalize_origin, own_origin
from .router.path_set import PathSet
from .sessions import session_of

if TYPE_CHECKING:
    from .context import Context

__all__ = ["csrf", "csrf_field", "csrf_token", "mask_token", "unmask_token"]

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_FIELD: Final = "_token"  # noqa: S105 - a form field name, not a secret
TOKEN_HEADERS: Final = ("x-csrf-token", "x-xsrf-token")


def mask_token(secret: str) -> str:
    """A one-time masked form of `secret`: pad + (secret XOR pad), base64url."""
    raw = secret.encode()
    pad = secrets.token_bytes(len(raw))
    masked = bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    return base64.urlsafe_b64encode(pad + masked).rstrip(b"=").decode()


def unmask_token(token: str) -> str | None:
    """The secret inside a masked token, or None when `token` is not one."""
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if not data or len(data) % 2:
        return None
    half = len(data) // 2
    pad, masked = data[:half], data[half:]
    try:
        return bytes(a ^ b for a, b in zip(masked, pad, strict=True)).decode()
    except UnicodeDecodeError:
        return None


def csrf_token(c: Context) -> str:
    """A freshly masked CSRF token for this session (for a meta tag or a JS client)."""
    return mask_token(session_of(c).token())


def csrf_field(c: Context) -> str:
    """The hidden `<input>` that carries the CSRF token in a form."""
    return f'<input type="hidden" name="{TOKEN_FIELD}" value="{html.escape(csrf_token(c))}">'


def token_matches(candidate: str, secret: str) -> bool:
    """True when `candidate` is `secret` itself or a masked form of it (constant time).
    Tokens are base64url, so a candidate that is not ASCII (a lone surrogate from a
    JSON body, say, which has no bytes to compare) never matches."""
    if not candidate.isascii():
        return False
    expected = secret.encode()
    if hmac.compare_digest(candidate.encode(), expected):
        return True
    unmasked = unmask_token(candidate)
    return unmasked is not None and hmac.compare_digest(unmasked.encode(), expected)


async def _cors_shares_credentials(c: Context, origin: str) -> bool:
    """Whether a cors() middleware on this request's path lets `origin` send credentials."""
    for route in c.req.matched:
        shares = getattr(route.fn, "shares_credentials_with", None)
        if shares is not None and await shares(origin, c):
            return True
    return False


# Subclassed by applications and by microweb's interpreted modules: the compiled build
# allows subclasses written in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class csrf(Middleware):  # lower case: called like a function, per the contract
    """Refuse state-changing requests without the session's CSRF token or from other sites.

    Options:
    - `exclude` (list[str], default `()`): route paths (Hono syntax, `"/webhooks/*"`)
      that pass without the checks.
    - `trusted_origins` (list[str], default `()`): other origins (`scheme://host[:port]`)
      whose requests pass the origin check.
    """

    # Declared, so describe() can set it on a compiled instance too (no __dict__ there).
    __microweb_description__: Description

    def __init__(self, exclude: Iterable[str] = (), trusted_origins: Iterable[str] = ()) -> None:
        self.exclude = PathSet(exclude, "csrf(exclude=)")
        origins = [trusted_origins] if isinstance(trusted_origins, str) else trusted_origins
        self.trusted_origins = frozenset(checked_origin(o, "csrf()") for o in origins)
        describe(
            self,
            Description(
                schemes={CSRF: {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}},
                security=((SESSION, CSRF),),
                responses={403: "The CSRF token is missing or wrong, or the request is cross-site"},
                applies=self.applies,
            ),
        )

    def applies(self, method: str, path: str) -> bool:
        """Whether a `method` request to `path` must pass the checks."""
        return method not in SAFE_METHODS and path not in self.exclude

    async def __call__(self, c: Context, next: Next) -> Any:
        req = c.req
        if not self.applies(req.method, req.path):
            await next()
            return None
        await self._check_origin(c)
        secret = session_of(c).token()
        candidate = await self._submitted_token(c)
        if candidate is None:
            raise ForbiddenError("CSRF token missing: send it in X-CSRF-Token or the _token field")
        if not token_matches(candidate, secret):
            raise ForbiddenError("CSRF token mismatch: reload the page and try again")
        await next()
        return None

    async def _check_origin(self, c: Context) -> None:
        origin = c.req.header("origin")
        fetch_site = c.req.header("sec-fetch-site")
        if fetch_site is not None:
            if fetch_site in ("same-origin", "none"):
                return
            if origin is not None and self._trusted(origin):
                return
            raise ForbiddenError(f"Cross-site request refused (Sec-Fetch-Site: {fetch_site})")
        if origin is None:
            return
        if self._trusted(origin) or self._same_origin(c, origin):
            return
        message = f"Cross-origin request refused: Origin {origin} is not trusted"
        if await _cors_shares_credentials(c, origin):
            message += "; cors() allows it, add it to csrf(trusted_origins=...)"
        raise ForbiddenError(message)

    def _trusted(self, origin: str) -> bool:
        return normalize_origin(origin) in self.trusted_origins

    @staticmethod
    def _same_origin(c: Context, origin: str) -> bool:
        normal = normalize_origin(origin)
        return normal is not None and normal == own_origin(
            c.req.scope.get("scheme", "http"), urlsplit(c.req.url).netloc
        )

    @staticmethod
    async def _submitted_token(c: Context) -> str | None:
        req = c.req
        for name in TOKEN_HEADERS:
            value = req.header(name)
            if value:
                return str(value)
        content_type = req.content_type
        try:
            if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                value = (await req.form()).get(TOKEN_FIELD)
                return value if isinstance(value, str) else None
            if is_json(content_type):
                data = await req.json()
                value = data.get(TOKEN_FIELD) if isinstance(data, dict) else None
                return value if isinstance(value, str) else None
        except HTTPException as err:
            if err.status == 400:
                return None
            raise
        return None
