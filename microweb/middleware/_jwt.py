"""`jwt()`: JSON Web Tokens verified by PyJWT (the `microweb[jwt]` extra).

Rules:
- `algorithms` is required and `none` is refused: the token never chooses how
  it is checked, so an RS256 public key can never be used as an HS256 secret
  (algorithm confusion) and an unsigned token never passes.
- The token comes from `Authorization: Bearer ...`, or from the cookie named
  by `cookie=`. No token (no header, or one of another scheme): 401 with
  `WWW-Authenticate: Bearer`, as bearer_auth answers. Malformed (a bare
  "Bearer" too), expired, not yet valid, wrongly signed, with the wrong
  audience or issuer, or without a claim of `require`: 401
  with `WWW-Authenticate: Bearer error="invalid_token"`. The body says which
  in microweb's fixed words ("Invalid token: expired"), never PyJWT's text;
  a header of another scheme is 401 as a missing one is.
- `require=["exp"]` by default (PyJWT's `options={"require": ...}`): a token
  that never expires is refused, since it would be good forever once leaked.
  `require=[]` accepts such tokens; `require=["exp", "iat", "sub"]` asks for
  more. A claim named in `audience`/`issuer` is checked whenever those are
  given, whether or not it is in `require`.
- The verified payload is in `c.get("jwt_payload")`.
- PyJWT is imported when the factory is called, never by `import microweb`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..compose import MiddlewareFunction, Next, create_middleware
from ..describe import JWT, Description, describe
from ..exceptions import UnauthorizedError
from ..http_rules import credentials
from ._options import duration

if TYPE_CHECKING:
    from jwt.types import Options

    from ..context import Context

__all__ = ["jwt"]

_HMAC = {"HS256", "HS384", "HS512"}


def jwt(
    secret: Any,
    algorithms: Iterable[str],
    cookie: str | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | None = None,
    leeway: float = 0,
    require: Iterable[str] = ("exp",),
) -> MiddlewareFunction:
    """JWT middleware.

    Options:
    - `secret` (str | bytes | key, required): the HMAC secret or the public key (PEM or
      a key object).
    - `algorithms` (list[str], required): the algorithms accepted, one family.
    - `cookie` (str | None, default None): a cookie to read the token from when there is
      no `Authorization` header.
    - `audience` (str | list[str] | None, default None): the `aud` required.
    - `issuer` (str | None, default None): the `iss` required.
    - `leeway` (float seconds, default 0): clock skew allowed on `exp` and `nbf`.
    - `require` (list[str], default `("exp",)`): claims every token must carry.
    """
    try:
        import jwt as pyjwt
    except ImportError as err:  # pragma: no cover - the dev install has it
        raise ImportError("jwt() needs PyJWT: pip install 'microweb[jwt]'") from err
    if isinstance(algorithms, str):
        raise ValueError('jwt(): algorithms is a list, e.g. algorithms=["HS256"]')
    allowed = list(algorithms)
    if not allowed:
        raise ValueError('jwt(): algorithms is required, e.g. algorithms=["HS256"]')
    if any(a.lower() == "none" for a in allowed):
        raise ValueError('jwt(): the "none" algorithm would accept unsigned tokens; it is refused')
    if not secret:
        raise ValueError("jwt(): a secret or public key is required")
    duration(leeway, "jwt()", "leeway", zero=True)
    if set(allowed) & _HMAC and set(allowed) - _HMAC:
        raise ValueError(
            "jwt(): mixing HMAC (HS*) and public-key algorithms lets a public key serve as an "
            "HMAC secret; use one family"
        )
    if isinstance(require, str):
        raise ValueError('jwt(): require is a list of claim names, e.g. require=["exp"]')
    required = list(require)
    if not all(isinstance(claim, str) and claim for claim in required):
        raise ValueError(f"jwt(): require holds claim names (strings), got {required!r}")
    options: Options = {"require": required}
    decoder = pyjwt.PyJWT()
    aud = audience if audience is None or isinstance(audience, str) else list(audience)
    # No token: the bare challenge, as bearer_auth answers (RFC 6750 section 3.1: no
    # error code when the request carried no credentials of this scheme).
    ask = {"www-authenticate": "Bearer"}
    challenge = {"www-authenticate": 'Bearer error="invalid_token"'}

    def token_of(c: Context) -> str | None:
        """The token ('' for a bare "Bearer", which is malformed), or None for none."""
        header: str | None = c.req.header("authorization")
        if header:
            return credentials(header, "bearer")
        if cookie is not None:
            value = c.req.cookie(cookie)
            return value if isinstance(value, str) and value else None
        return None

    @create_middleware
    async def jwt_middleware(c: Context, next: Next) -> None:
        token = token_of(c)
        if token is None:
            raise UnauthorizedError("Authentication required", headers=ask)
        if not token:
            raise UnauthorizedError("Invalid token", headers=challenge)
        try:
            payload = decoder.decode(
                token,
                secret,
                algorithms=allowed,
                audience=aud,
                issuer=issuer,
                leeway=leeway,
                options=options,
            )
        except pyjwt.PyJWTError as err:
            raise UnauthorizedError(_refusal(pyjwt, err), headers=challenge) from None
        c.set("jwt_payload", payload)
        await next()

    schemes: dict[str, dict[str, str]] = {
        JWT: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    if cookie is not None:
        schemes[JWT + "Cookie"] = {"type": "apiKey", "in": "cookie", "name": cookie}
    return describe(
        jwt_middleware,
        Description(
            schemes=schemes,
            security=tuple((name,) for name in schemes),
            responses={401: "No token, or one that is invalid, expired or wrongly signed"},
        ),
    )


def _refusal(pyjwt: Any, err: Exception) -> str:
    """The client's message for a refused token: microweb's own words for what went
    wrong, never the library's text (which may change, or say more than it should)."""
    if isinstance(err, pyjwt.MissingRequiredClaimError):
        return f'Invalid token: missing the "{err.claim}" claim'  # a name from require=
    for kind, message in (
        (pyjwt.ExpiredSignatureError, "Invalid token: expired"),
        (pyjwt.ImmatureSignatureError, "Invalid token: not yet valid"),
        (pyjwt.InvalidAudienceError, "Invalid token: wrong audience"),
        (pyjwt.InvalidIssuerError, "Invalid token: wrong issuer"),
    ):
        if isinstance(err, kind):
            return message
    return "Invalid token"
