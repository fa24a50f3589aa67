"""`bearer_auth()`: bearer tokens (RFC 6750).

Rules:
- No `Authorization` header, or one of another scheme: 401 with
  `WWW-Authenticate: Bearer realm="..."` (no error code, as RFC 6750 section
  3.1 says; basic_auth and jwt answer another scheme the same way).
- A malformed bearer token (empty, or characters outside the b64token
  grammar): 400 with `error="invalid_request"`.
- A wrong token: 401 with `error="invalid_token"`. Tokens are compared in
  constant time, every configured token tried.
- The token that passed is in `c.get("token")`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..describe import BEARER, Description, describe
from ..exceptions import HTTPException, UnauthorizedError
from ..http_rules import credentials
from ._options import strings

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["bearer_auth"]

# RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

Verify = Callable[[str, "Context"], "bool | Awaitable[bool]"]


def bearer_auth(
    token: str | None = None,
    tokens: Iterable[str] | None = None,
    verify: Verify | None = None,
    realm: str = "",
) -> MiddlewareFunction:
    """Bearer token middleware.

    Options:
    - `token` (str | None, default None): the one token accepted.
    - `tokens` (list[str] | None, default None): several.
    - `verify` (callable | None, default None): `verify(token, c) -> bool` (plain or
      async), asked when no listed token matches.
    - `realm` (str, default `""`): the challenge's realm (none when empty).
    """
    listed = strings(tokens or (), "bearer_auth()", "tokens")
    accepted = [t.encode() for t in ([token] if token is not None else []) + listed]
    if not accepted and verify is None:
        raise ValueError("bearer_auth(): give token, tokens or verify")
    for t in accepted:
        if not _TOKEN.fullmatch(t.decode()):
            raise ValueError("bearer_auth(): a token may only hold RFC 6750 b64token characters")
    if '"' in realm or "\\" in realm:
        raise ValueError("bearer_auth(): the realm must not contain quotes or backslashes")
    prefix = f'Bearer realm="{realm}"' if realm else "Bearer"

    def challenge(error: str | None) -> dict[str, str]:
        if error is None:
            return {"www-authenticate": prefix}
        separator = ", " if realm else " "
        return {"www-authenticate": f'{prefix}{separator}error="{error}"'}

    async def check(given: str, c: Context) -> bool:
        data = given.encode()
        matched = False
        for candidate in accepted:
            matched |= hmac.compare_digest(data, candidate)
        if matched:
            return True
        if verify is not None:
            return bool(await awaited(verify(given, c)))
        return False

    @create_middleware
    async def bearer_auth_middleware(c: Context, next: Next) -> None:
        value = credentials(c.req.header("authorization"), "bearer")
        if value is None:
            raise UnauthorizedError("Authentication required", headers=challenge(None))
        if not _TOKEN.fullmatch(value):
            raise HTTPException(
                400, "Malformed Authorization header", headers=challenge("invalid_request")
            )
        if not await check(value, c):
            raise UnauthorizedError("Invalid token", headers=challenge("invalid_token"))
        c.set("token", value)
        await next()

    return describe(
        bearer_auth_middleware,
        Description(
            schemes={BEARER: {"type": "http", "scheme": "bearer"}},
            security=((BEARER,),),
            responses={400: "A malformed Authorization header", 401: "No token, or a wrong one"},
        ),
    )
