"""`secure_headers()`: Hono's default set of security headers, and a CSP with nonces.

Rules:
- Every response that passes through gets the headers, error pages microweb
  answers itself included (404, 405, 500, guard refusals): they are answered
  inside the chain, so the middleware's code after `await next()` sees them.
- A header the handler (or an inner middleware) set itself is kept.
- `content_security_policy` maps directives to sources; a source may be
  `NONCE`, which becomes `'nonce-<value>'` with a fresh value for each request
  (16 random bytes from `secrets`). `csp_nonce(c)` returns that value, for an
  inline `<script nonce="...">`; it is "" when no nonce is in force.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ..compose import MiddlewareFunction, Next, create_middleware

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["NONCE", "csp_nonce", "secure_headers"]

NONCE_VAR: Final = "csp_nonce"


class _Nonce:
    """The placeholder for this request's nonce in a CSP source list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NONCE"


NONCE: Final[Any] = _Nonce()

# snake_case option -> (header, Hono's default)
DEFAULTS: dict[str, tuple[str, str]] = {
    "cross_origin_embedder_policy": ("Cross-Origin-Embedder-Policy", ""),
    "cross_origin_opener_policy": ("Cross-Origin-Opener-Policy", "same-origin"),
    "cross_origin_resource_policy": ("Cross-Origin-Resource-Policy", "same-origin"),
    "origin_agent_cluster": ("Origin-Agent-Cluster", "?1"),
    "referrer_policy": ("Referrer-Policy", "no-referrer"),
    "strict_transport_security": (
        "Strict-Transport-Security",
        "max-age=15552000; includeSubDomains",
    ),
    "x_content_type_options": ("X-Content-Type-Options", "nosniff"),
    "x_dns_prefetch_control": ("X-DNS-Prefetch-Control", "off"),
    "x_download_options": ("X-Download-Options", "noopen"),
    "x_frame_options": ("X-Frame-Options", "SAMEORIGIN"),
    "x_permitted_cross_domain_policies": ("X-Permitted-Cross-Domain-Policies", "none"),
    "x_xss_protection": ("X-XSS-Protection", "0"),
    "permissions_policy": ("Permissions-Policy", ""),
}


def csp_nonce(c: Context) -> str:
    """This request's CSP nonce (for `<script nonce="...">`), or "" when none is in force."""
    value = c.get(NONCE_VAR)
    return value if isinstance(value, str) else ""


def secure_headers(
    *,
    content_security_policy: Mapping[str, Iterable[Any]] | None = None,
    content_security_policy_report_only: Mapping[str, Iterable[Any]] | None = None,
    **overrides: str | bool,
) -> MiddlewareFunction:
    """Security headers middleware.

    Options:
    - `content_security_policy` (dict[str, list[str]] | None, default None): the CSP
      directives (`{"default-src": ["'self'"]}`); a source may be `NONCE`.
    - `content_security_policy_report_only` (dict[str, list[str]] | None, default None):
      the same, sent as `Content-Security-Policy-Report-Only`.
    - `**overrides` (str | bool): each default header by its snake_case name
      (`x_frame_options="DENY"`); `False` omits it, `True` keeps the default.
      `cross_origin_embedder_policy` and `permissions_policy` are off unless given.
      Unknown names raise ValueError.
    """
    headers: list[tuple[bytes, bytes]] = []
    for option, value in overrides.items():
        if option not in DEFAULTS:
            known = ", ".join(sorted(DEFAULTS))
            raise ValueError(f"secure_headers(): unknown header option {option!r}; known: {known}")
        if not isinstance(value, str | bool):
            raise ValueError(f"secure_headers(): {option} must be a string or a bool")
    for option, (name, default) in DEFAULTS.items():
        value = overrides.get(option, True)
        if value is False:
            continue
        text = default if value is True else value
        if not text:
            continue
        _check_value(option, text)
        headers.append((name.lower().encode(), text.encode("latin-1")))
    policies = [
        (b"content-security-policy", _policy(content_security_policy)),
        (b"content-security-policy-report-only", _policy(content_security_policy_report_only)),
    ]
    csp = [(name, parts) for name, parts in policies if parts is not None]
    uses_nonce = any(NONCE in part for _, parts in csp for part in parts)
    names = {name for name, _ in headers} | {name for name, _ in csp}

    @create_middleware
    async def secure_headers_middleware(c: Context, next: Next) -> None:
        nonce = ""
        if uses_nonce:
            nonce = base64.b64encode(secrets.token_bytes(16)).decode()
            c.set(NONCE_VAR, nonce)
        await next()
        res = c.res
        if res is None:
            return
        raw = res.raw
        present = {k for k, _ in raw if k in names}
        for item in headers:
            if item[0] not in present:
                raw.append(item)
        for name, parts in csp:
            if name not in present:
                value = "; ".join(
                    " ".join(f"'nonce-{nonce}'" if s is NONCE else s for s in part)
                    for part in parts
                )
                raw.append((name, value.encode("latin-1")))

    return secure_headers_middleware


def _policy(directives: Mapping[str, Iterable[Any]] | None) -> list[list[Any]] | None:
    """The directives as lists of words (directive name first), NONCE kept as a marker."""
    if directives is None:
        return None
    parts: list[list[Any]] = []
    for directive, sources in directives.items():
        if not directive or any(ch in directive for ch in ";, \r\n"):
            raise ValueError(f"secure_headers(): bad CSP directive name {directive!r}")
        if isinstance(sources, str):
            raise ValueError(
                f"secure_headers(): CSP {directive!r} takes a list of sources, "
                f"like [\"'self'\"], not the string {sources!r}"
            )
        words: list[Any] = [directive]
        for source in sources:
            if source is not NONCE and (
                not isinstance(source, str) or any(ch in source for ch in ";,\r\n")
            ):
                raise ValueError(f"secure_headers(): bad CSP source {source!r} in {directive}")
            words.append(source)
        parts.append(words)
    return parts


def _check_value(option: str, value: str) -> None:
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"secure_headers(): {option} must not contain CR, LF or NUL")
