"""`basic_auth()`: HTTP Basic authentication (RFC 7617).

Rules:
- Credentials are compared in constant time (`hmac.compare_digest` on UTF-8
  bytes), every configured user tried, so timing tells nothing about which
  name exists or how much of a password matched.
- A missing, malformed (bad base64, no colon, not UTF-8) or wrong header is
  401 with `WWW-Authenticate: Basic realm="..."`; never a 500.
- The user name that passed is in `c.get("user")`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..describe import BASIC, Description, describe
from ..exceptions import UnauthorizedError
from ..http_rules import credentials

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["basic_auth"]

Verify = Callable[[str, str, "Context"], "bool | Awaitable[bool]"]


def basic_auth(
    username: str | None = None,
    password: str | None = None,
    users: Mapping[str, str] | None = None,
    verify: Verify | None = None,
    realm: str = "Secure Area",
) -> MiddlewareFunction:
    """Basic auth middleware.

    Options:
    - `username`, `password` (str | None, default None): one account.
    - `users` (dict[str, str] | None, default None): accounts, name to password.
    - `verify` (callable | None, default None): `verify(username, password, c) -> bool`
      (plain or async), asked when no listed account matches.
    - `realm` (str, default `"Secure Area"`): the challenge's realm.
    """
    accounts: list[tuple[bytes, bytes]] = []
    if (username is None) != (password is None):
        raise ValueError("basic_auth(): give both username and password, or neither")
    if username is not None and password is not None:
        accounts.append((username.encode(), password.encode()))
    for name, secret in (users or {}).items():
        accounts.append((name.encode(), secret.encode()))
    if not accounts and verify is None:
        raise ValueError("basic_auth(): give username and password, users, or verify")
    if '"' in realm or "\\" in realm:
        raise ValueError("basic_auth(): the realm must not contain quotes or backslashes")
    challenge = {"www-authenticate": f'Basic realm="{realm}"'}

    async def check(name: str, secret: str, c: Context) -> bool:
        given = (name.encode(), secret.encode())
        matched = False
        for account in accounts:
            # Both comparisons always run: no early exit on the name.
            same_name = hmac.compare_digest(given[0], account[0])
            same_secret = hmac.compare_digest(given[1], account[1])
            matched |= same_name and same_secret
        if matched:
            return True
        if verify is not None:
            return bool(await awaited(verify(name, secret, c)))
        return False

    @create_middleware
    async def basic_auth_middleware(c: Context, next: Next) -> None:
        given = _credentials(c.req.header("authorization"))
        if given is None or not await check(*given, c):
            raise UnauthorizedError("Authentication required", headers=challenge)
        c.set("user", given[0])
        await next()

    return describe(
        basic_auth_middleware,
        Description(
            schemes={BASIC: {"type": "http", "scheme": "basic"}},
            security=((BASIC,),),
            responses={401: "No credentials, or wrong ones"},
        ),
    )


def _credentials(header: str | None) -> tuple[str, str] | None:
    value = credentials(header, "basic")
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    name, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return name, secret
