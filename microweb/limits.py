"""`Limits`: the bounds on what one request may carry; over a bound is a 4xx, never a crash."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a request may carry; over a bound is a 4xx, never a crash."""

    max_body_size: int = 10 * 1024 * 1024
    max_form_fields: int = 1000
    max_form_files: int = 100
    max_query_params: int = 1000
    max_headers: int = 100
    max_cookie_bytes: int = 16 * 1024


DEFAULT_LIMITS = Limits()
