"""`https_redirect()`: send plain-http requests to the same URL over https.

Rules:
- A request whose scheme is http gets a redirect (308 by default, which keeps
  the method and body) to the https URL, host, path and query kept.
- Behind a proxy that ends TLS the app sees http; `X-Forwarded-Proto` is
  honoured only with `trust_forwarded_proto=True`, since a client can send the
  header itself. (uvicorn's `--proxy-headers` is the other way to fix the scheme.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..compose import MiddlewareFunction, Next, create_middleware
from ..http_rules import header_tokens
from ._options import choice

if TYPE_CHECKING:
    from ..context import Context
    from ..response import Response

__all__ = ["https_redirect"]


def https_redirect(status: int = 308, trust_forwarded_proto: bool = False) -> MiddlewareFunction:
    """HTTPS redirect middleware.

    Options:
    - `status` (int, default 308): the redirect's status, 301, 302, 307 or 308.
    - `trust_forwarded_proto` (bool, default False): read the scheme from
      `X-Forwarded-Proto` (only behind a proxy that sets it: clients can send it too).
    """
    choice(status, "https_redirect()", "status", (301, 302, 307, 308))

    @create_middleware
    async def https_redirect_middleware(c: Context, next: Next) -> Response | None:
        scheme = c.req.scope.get("scheme", "http")
        if trust_forwarded_proto:
            forwarded = header_tokens(c.req.header("x-forwarded-proto"))
            if forwarded:
                scheme = forwarded[0].lower()  # the first proxy's, the client's own
        if scheme in ("https", "wss"):
            await next()
            return None
        url = urlsplit(c.req.url)
        netloc = url.netloc[:-3] if url.netloc.endswith(":80") else url.netloc
        return c.redirect(url._replace(scheme="https", netloc=netloc).geturl(), status)

    return https_redirect_middleware
