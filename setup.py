"""Builds microweb: pure Python by default, or with the request path compiled by mypyc.

`MICROWEB_COMPILE=1` compiles the modules in COMPILED with mypyc, as mypy and black ship
themselves: the wheel then holds a C extension beside each of those modules' source, and
Python imports the extension. Pure Python stays the reference: the compiled modules are
the same source, type-checked by mypy --strict, so the two builds behave alike (`.ci/run`
runs the whole suite on each). `MYPYC_OPT_LEVEL` (default 3) is the C compiler's -O
level; `MICROWEB_BUILD_JOBS` (default: the CPU count) how many C files compile at once.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

# The modules every request passes through. Streaming bodies (async generators) and
# anything replaced at run time stay in interpreted modules, and so does cors(): it
# checks options of any type (max_age=1.5 or True is a ValueError), where a compiled
# factory's declared types would turn them into a TypeError, or True into 1.
COMPILED = [
    "microweb/urls.py",
    "microweb/cookies.py",
    "microweb/http_rules/fields.py",
    "microweb/http_rules/hosts.py",
    "microweb/http_rules/origins.py",
    "microweb/http_rules/media.py",
    "microweb/http_rules/caching.py",
    "microweb/datastructures.py",
    "microweb/_json.py",
    "microweb/response.py",
    "microweb/request.py",
    "microweb/context.py",
    "microweb/compose.py",
    "microweb/app.py",
    # The routers replace their `match` on the first call (Hono's way), which a compiled
    # class cannot: they stay interpreted, and the match they install is compiled.
    "microweb/router/trie.py",
    "microweb/router/reg_exp/buckets.py",
    "microweb/router/reg_exp/matcher.py",
    "microweb/sessions/manager.py",
    "microweb/sessions/app_middleware.py",
    "microweb/sessions/session_view.py",
    "microweb/sessions/record.py",
    "microweb/sessions/serializer.py",
    "microweb/sessions/store_memory.py",
    "microweb/sessions/store.py",
    "microweb/sessions/state.py",
    "microweb/csrf_protection.py",
    "microweb/middleware/_secure_headers.py",
    "microweb/middleware/_request_id.py",
    "microweb/middleware/_etag.py",
]

# Commands that only read metadata: mypyc's type check and C code are not needed for them.
_METADATA_ONLY = {"egg_info", "dist_info", "sdist", "--name", "--version"}


def compiling() -> bool:
    return os.environ.get("MICROWEB_COMPILE", "0") == "1" and not _METADATA_ONLY & set(sys.argv)


def ext_modules() -> list[object]:
    if not compiling():
        return []
    from mypyc.build import mypycify

    return mypycify(
        ["--config-file=pyproject.toml", *COMPILED],
        opt_level=os.environ.get("MYPYC_OPT_LEVEL", "3"),
        # One C file per module, so the C compiler runs on several at once.
        multi_file=True,
    )


setup(
    ext_modules=ext_modules(),
    options={
        "build_ext": {"parallel": int(os.environ.get("MICROWEB_BUILD_JOBS", os.cpu_count() or 1))}
    },
)
