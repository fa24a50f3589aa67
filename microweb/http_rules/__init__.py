"""The rules of HTTP that more than one part of microweb applies, each written once.

Rules:
- One module per idea: `fields` (the token grammar, comma lists, a request header
  read from the ASGI scope), `hosts` (the `Host` header), `origins` (what an origin
  is and when two are the same), `media` (media types, "is it JSON", "prefers HTML"),
  `authorization` (the `Authorization` header's scheme and credentials), `addresses`
  (the client's address), `caching` (entity tags, `Vary`, what a 304 keeps) and
  `negotiation` (q-values of `Accept-Encoding`).
- Nothing here knows the app, the context or a middleware: these are functions of
  strings, headers and scopes, so the app, the middleware, static files, CSRF and
  WebSockets all call the same ones. The package sits below the leaves, just above
  `exceptions` (Headers and cookies check names with its token grammar); it imports
  nothing else of microweb but for type checking.
- Internal: applications use the middleware and the context, not these.
"""

from .addresses import NO_ADDRESS, Address, client_address, peer_address, peer_key
from .authorization import credentials
from .caching import (
    KEPT_ON_304,
    append_vary,
    etag_matches,
    kept_on_304,
    raw_vary_covers,
    vary_covers,
)
from .fields import TOKEN, header_tokens, is_token, scope_headers
from .hosts import INVALID_HOST, host_is_valid, parse_host
from .media import answer_form, is_json, media_type, prefers_html
from .negotiation import negotiate
from .origins import DEFAULT_PORTS, checked_origin, normalize_origin, own_origin

__all__ = [
    "DEFAULT_PORTS",
    "INVALID_HOST",
    "KEPT_ON_304",
    "NO_ADDRESS",
    "TOKEN",
    "Address",
    "answer_form",
    "append_vary",
    "checked_origin",
    "client_address",
    "credentials",
    "etag_matches",
    "header_tokens",
    "host_is_valid",
    "is_json",
    "is_token",
    "kept_on_304",
    "media_type",
    "negotiate",
    "normalize_origin",
    "own_origin",
    "parse_host",
    "peer_address",
    "peer_key",
    "prefers_html",
    "raw_vary_covers",
    "scope_headers",
    "vary_covers",
]
