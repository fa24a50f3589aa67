"""Content negotiation by q-values (`Accept-Encoding`, RFC 9110 section 12.5.3).

Rules:
- The highest q wins; at equal q, the order the server offers; `q=0` refuses; `*`
  stands for every coding not named; a q that does not parse is 0.
"""

from __future__ import annotations

from .fields import header_tokens

__all__ = ["negotiate"]


def negotiate(accept: str | None, offered: list[str]) -> str | None:
    """The coding of `offered` an `Accept-Encoding` prefers; None means identity
    (nothing offered is acceptable)."""
    if not accept:
        return None
    weights: dict[str, float] = {}
    for token in header_tokens(accept):
        name, _, params = token.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name.strip().lower()] = max(0.0, min(q, 1.0))
    star = weights.get("*")
    best: str | None = None
    best_q = 0.0
    for coding in offered:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    return best
