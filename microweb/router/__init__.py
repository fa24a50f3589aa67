"""microweb's routers: the interface (`base`) and Hono's routers that implement it.

This package only re-exports: the implementations import `base`, never this module.
"""

from __future__ import annotations

from typing import TypeVar

from .base import (
    MESSAGE_MATCHER_IS_ALREADY_BUILT,
    METHOD_ALL,
    ParamStash,
    Result,
    Router,
    UnsupportedPathError,
    resolve_params,
)
from .reg_exp import RegExpRouter
from .smart import SmartRouter
from .trie import TrieRouter

__all__ = [
    "MESSAGE_MATCHER_IS_ALREADY_BUILT",
    "METHOD_ALL",
    "ParamStash",
    "RegExpRouter",
    "Result",
    "Router",
    "SmartRouter",
    "TrieRouter",
    "UnsupportedPathError",
    "default_router",
    "resolve_params",
]

T = TypeVar("T")


def default_router() -> SmartRouter[T]:
    """Hono's default: RegExpRouter, falling back to TrieRouter for routes it can't express."""
    return SmartRouter([RegExpRouter(), TrieRouter()])
