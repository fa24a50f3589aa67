"""Which build of microweb is running: the mypyc-compiled one, or pure Python."""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES

from . import context


def is_compiled() -> bool:
    """True when the request path's modules were loaded from C extensions (the wheel
    built with MICROWEB_COMPILE=1), False when they are Python source."""
    return (context.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
