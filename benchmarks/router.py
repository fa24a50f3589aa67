"""Router micro-benchmark: microweb's router against Starlette's, in process (no server).

Usage (from the repository root)::

    .venv/bin/python benchmarks/router.py [--seed 1] [--min-time 0.02] [--rounds 9]

Route tables:

- ``hono``: the route set of Hono's own router benchmark (benchmarks/routers/src/tool.mts).
- ``github``: the GitHub REST API (benchmarks/github_routes.py, ~300 path templates). It has
  static segments next to parameters at the same place (``/issues/comments`` and
  ``/issues/:issue_number``), which RegExpRouter refuses (Hono's rule), so the default
  SmartRouter serves it with TrieRouter; ``github-rx`` is the part of it that RegExpRouter
  accepts (routes taken in order, those it refuses skipped).
- ``synth-N``: an application grown to N routes the way real ones grow: a few static pages,
  then one resource after another, each with list/create/detail/update/delete routes and
  0-3 nested sub-resources (``/things/:id/parts/:part_id``). Each table is a prefix of the next.
  The last row is synth-1000 again through RegExpRouter(bucket_threshold=None): one regex per
  method, as before buckets, for a comparison within the same run.

Requests, per table, of four kinds: ``static`` (a route without parameters), ``1-param``,
``multi-param`` (two or more parameters) and ``missing`` (an unknown first segment, an unknown
trailing segment under a real resource, or a literal changed). Parameters are random ids and
slugs, so a result cache could not serve them. Every request is checked against both routers
(hit or miss) before timing.

microweb is timed through ``default_router()`` (what an app uses: SmartRouter picks
RegExpRouter, or TrieRouter when RegExpRouter refuses the table) as ``match(method, path)``.
Starlette is timed as its ``Router.app`` matches a request: iterate the routes calling
``route.matches(scope)`` until one gives ``Match.FULL`` (remembering the first PARTIAL).
Times are ns per call, the Python call and loop included; the best of several samples taken in
interleaved rounds (every table and kind in turn), which a busy machine disturbs least.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Run as a script: put the repository root on sys.path so `benchmarks` imports.
_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from starlette.routing import BaseRoute, Match, Route  # noqa: E402

from benchmarks.github_routes import ROUTES as GITHUB_ROUTES  # noqa: E402
from microweb.router import (  # noqa: E402
    RegExpRouter,
    SmartRouter,
    TrieRouter,
    UnsupportedPathError,
    default_router,
)

Routes = list[tuple[str, str]]
KINDS = ("static", "1-param", "multi-param", "missing")

# Hono's benchmarks/routers/src/tool.mts
HONO_ROUTES: Routes = [
    ("GET", "/user"),
    ("GET", "/user/comments"),
    ("GET", "/user/avatar"),
    ("GET", "/user/lookup/username/:username"),
    ("GET", "/user/lookup/email/:address"),
    ("GET", "/event/:id"),
    ("GET", "/event/:id/comments"),
    ("POST", "/event/:id/comment"),
    ("GET", "/map/:location/events"),
    ("GET", "/status"),
    ("GET", "/very/deeply/nested/route/hello/there"),
    ("GET", "/static/*"),
]

_NOUN_WORDS = (
    "users accounts projects tasks comments invoices payments orders products customers "
    "teams members roles permissions files folders tags labels events sessions devices "
    "notifications messages threads channels reports dashboards widgets alerts incidents "
    "deployments releases builds pipelines jobs artifacts secrets tokens webhooks "
    "subscriptions plans coupons discounts carts shipments warehouses suppliers vendors "
    "contracts documents templates articles categories reviews ratings bookmarks"
)
NOUNS = _NOUN_WORDS.split()
_ADJECTIVE_WORDS = "archived shared billing internal public legacy draft"
ADJECTIVES = _ADJECTIVE_WORDS.split()


def _resource_names() -> list[str]:
    return NOUNS + [f"{a}-{n}" for a in ADJECTIVES for n in NOUNS]


def synthetic_routes(size: int) -> Routes:
    """The first `size` routes of an app that keeps adding resources."""
    rng = random.Random(20240501)  # the same growth for every size: tables are prefixes
    routes: Routes = [("GET", "/"), ("GET", "/health")]
    names = _resource_names()
    for index, name in enumerate(names):
        routes += [("GET", f"/{name}"), ("GET", f"/{name}/:id"), ("POST", f"/{name}")]
        for child in rng.sample(NOUNS, 2 if index == 0 else rng.randint(0, 3)):
            routes += [
                ("GET", f"/{name}/:id/{child}"),
                ("GET", f"/{name}/:id/{child}/:{child}_id"),
                ("POST", f"/{name}/:id/{child}"),
                ("DELETE", f"/{name}/:id/{child}/:{child}_id"),
            ]
            if rng.random() < 0.3:
                routes.append(("GET", f"/{name}/:id/{child}/:{child}_id/history"))
        routes += [("PATCH", f"/{name}/:id"), ("DELETE", f"/{name}/:id")]
        if index % 5 == 4:
            routes.append(("POST", f"/{name}/:id/export"))
        if len(routes) >= size:
            return routes[:size]
    raise ValueError(f"not enough resource names for {size} routes")


def reg_exp_subset(routes: Routes) -> Routes:
    """The routes RegExpRouter accepts, taken in order (a refused route is skipped)."""
    kept: Routes = []
    for route in routes:
        router: RegExpRouter[int] = RegExpRouter()
        try:
            for i, (method, path) in enumerate([*kept, route]):
                router.add(method, path, i)
        except UnsupportedPathError:  # RegExpRouter refuses a route in `add`
            continue
        kept.append(route)
    return kept


# Requests

_PARAM_RE = re.compile(r":[^/{}]+(?:\{[^}]+\})?")


def _kind(path: str) -> str | None:
    if "*" in path:
        return None
    params = path.count("/:")
    return "static" if params == 0 else "1-param" if params == 1 else "multi-param"


def _value(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.5:
        return str(rng.randint(1, 10**9))
    if choice < 0.8:
        return f"{rng.getrandbits(48):x}"
    return f"{rng.choice(NOUNS)}-{rng.randint(1, 99999)}"


def _fill(path: str, rng: random.Random) -> str:
    return _PARAM_RE.sub(lambda _: _value(rng), path)


def _missing(routes: Routes, rng: random.Random) -> tuple[str, str]:
    method, path = rng.choice(routes)
    filled = _fill(path.replace("/*", ""), rng)
    how = rng.random()
    if how < 0.35:
        return "GET", f"/no-{rng.choice(NOUNS)}{rng.randint(1, 999)}/{_value(rng)}"
    if how < 0.7:
        return method, f"{filled.rstrip('/')}/x-{rng.randint(1, 10**6)}"
    parts = filled.split("/")
    literal = [i for i, part in enumerate(parts) if part and part in path.split("/")]
    if literal:
        parts[rng.choice(literal)] = f"zz{rng.randint(1, 999)}"
    return method, "/".join(parts)


def make_requests(
    routes: Routes, kind: str, count: int, rng: random.Random, is_hit: Callable[[str, str], bool]
) -> list[tuple[str, str]]:
    if kind == "missing":
        out: list[tuple[str, str]] = []
        while len(out) < count:
            method, path = _missing(routes, rng)
            if not is_hit(method, path):
                out.append((method, path))
        return out
    pool = [(m, p) for m, p in routes if _kind(p) == kind]
    if not pool:
        return []
    return [(m, _fill(p, rng)) for m, p in (rng.choice(pool) for _ in range(count))]


# Routers under test


def _endpoint(request: Any) -> None:  # a function: Starlette wraps it, as in an app
    return None


def _to_starlette(path: str) -> str:
    path = re.sub(r":([^/{}]+)(?:\{[^}]+\})?", r"{\1}", path)
    if path.endswith("/*"):
        path = path[:-2] + "/{path:path}"
    return path


def build_microweb(
    routes: Routes, one_regex: bool = False
) -> tuple[Callable[[str, str], Any], str]:
    """default_router() with `routes`; `one_regex`: RegExpRouter without buckets (as before
    them), for comparison."""
    router: SmartRouter[int] = (
        SmartRouter([RegExpRouter(bucket_threshold=None), TrieRouter()])
        if one_regex
        else default_router()
    )
    for i, (method, path) in enumerate(routes):
        router.add(method, path, i)
    router.match("GET", "/")  # build: SmartRouter picks its router
    name = router.name.removeprefix("SmartRouter + ")
    return router.match, f"{name} (one regex)" if one_regex else name


def build_starlette(routes: Routes) -> tuple[Callable[[dict[str, Any]], Any], list[BaseRoute]]:
    table: list[BaseRoute] = [
        Route(_to_starlette(path), _endpoint, methods=[method]) for method, path in routes
    ]
    full, partial = Match.FULL, Match.PARTIAL

    def match(scope: dict[str, Any]) -> Any:
        # starlette.routing.Router.app, minus the dispatch
        found = None
        for route in table:
            m, child_scope = route.matches(scope)
            if m is full:
                return route, child_scope
            if m is partial and found is None:
                found = route, child_scope
        return found

    return match, table


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


class Timer:
    """ns per call of `fn` (a loop of `calls` calls), as the best of several samples.

    Samples of all timers are taken in interleaved rounds (`sample` once per timer per round),
    so that a moment when the machine is busy does not hit one table only; the best sample is
    the one least disturbed.
    """

    def __init__(self, fn: Callable[[], None], calls: int, min_time: float) -> None:
        self.fn, self.calls = fn, calls
        fn()  # warm up (RegExpRouter compiles its buckets on first use)
        self.loops = 1
        while True:  # calibrate: loops of fn() taking >= min_time
            start = time.perf_counter()
            for _ in range(self.loops):
                fn()
            if time.perf_counter() - start >= min_time:
                break
            self.loops *= 2
        self.best = float("inf")

    def sample(self) -> None:
        fn = self.fn
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(self.loops):
                fn()
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        self.best = min(self.best, elapsed / (self.loops * self.calls) * 1e9)


def prepare_table(
    name: str, routes: Routes, rng: random.Random, min_time: float, one_regex: bool = False
) -> tuple[dict[str, Any], list[Timer], list[Timer]]:
    """Build both routers for `routes`, make and check the requests, set up the timers.

    Returns the table's row ({kind: (microweb Timer, Starlette Timer) or None}), and its
    microweb and Starlette timers.
    """
    mw_match, router_name = build_microweb(routes, one_regex)
    st_match, st_table = build_starlette(routes)
    reference: TrieRouter[int] = TrieRouter()
    for i, (method, path) in enumerate(routes):
        reference.add(method, path, i)

    def is_hit(method: str, path: str) -> bool:
        return bool(reference.match(method, path)[0])

    row: dict[str, Any] = {"table": name, "routes": len(routes), "router": router_name}
    mw_timers: list[Timer] = []
    st_timers: list[Timer] = []
    for kind in KINDS:
        requests = make_requests(routes, kind, 1000, rng, is_hit)
        if not requests:
            row[kind] = None
            continue
        for method, path in requests:
            mw_hit = bool(mw_match(method, path)[0])
            st_hit = any(r.matches(_scope(method, path))[0] is Match.FULL for r in st_table)
            if mw_hit != (kind != "missing") or st_hit != mw_hit:
                raise AssertionError(f"{name}: {method} {path}: microweb {mw_hit}, starlette")

        def run_mw(requests: Sequence[tuple[str, str]] = requests) -> None:
            for method, path in requests:
                mw_match(method, path)

        scopes = [_scope(m, p) for m, p in requests[:200]]

        def run_st(scopes: Sequence[dict[str, Any]] = scopes) -> None:
            for scope in scopes:
                st_match(scope)

        timers = Timer(run_mw, len(requests), min_time), Timer(run_st, len(scopes), min_time)
        mw_timers.append(timers[0])
        st_timers.append(timers[1])
        row[kind] = timers
    return row, mw_timers, st_timers


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.0f}" if ns < 10_000 else f"{ns / 1000:,.0f}k"


def print_report(rows: list[dict[str, Any]]) -> bool:
    print("\n### microweb, ns per match (Starlette ns per match, speed-up)\n")
    print("| table | routes | microweb router | " + " | ".join(KINDS) + " |")
    print("|---|---:|---|" + "---:|" * len(KINDS))
    for row in rows:
        cells = []
        for kind in KINDS:
            value = row[kind]
            if value is None:
                cells.append("-")
                continue
            mw_ns, st_ns = value[0].best, value[1].best
            cells.append(f"{_fmt_ns(mw_ns)} ({_fmt_ns(st_ns)}, {st_ns / mw_ns:,.0f}x)")
        print(f"| {row['table']} | {row['routes']} | {row['router']} | " + " | ".join(cells) + " |")

    by_name = {row["table"]: row for row in rows if "one regex" not in row["router"]}
    ok = True
    print("\n### Targets\n")
    print("| check | " + " | ".join(KINDS) + " | target |")
    print("|---|" + "---:|" * len(KINDS) + "---|")
    first, last = by_name["synth-10"], by_name["synth-1000"]
    cells = []
    for kind in KINDS:
        ratio = last[kind][0].best / first[kind][0].best
        ok &= ratio <= 1.5
        cells.append(f"{ratio:.2f}x {'ok' if ratio <= 1.5 else 'MISS'}")
    print("| flatness: synth-1000 / synth-10 | " + " | ".join(cells) + " | <= 1.5x |")
    for name in ("synth-300", "github-rx", "github"):
        row = by_name[name]
        cells = []
        for kind in KINDS:
            if row[kind] is None:
                cells.append("-")
                continue
            mw_ns, st_ns = row[kind][0].best, row[kind][1].best
            speedup = st_ns / mw_ns
            if name != "github":  # the full GitHub table is TrieRouter's: shown, not held
                ok &= speedup >= 5
            cells.append(f"{speedup:,.0f}x {'ok' if speedup >= 5 else 'MISS'}")
        print(
            f"| vs Starlette: {name} ({row['routes']} routes) | " + " | ".join(cells) + " | >= 5x |"
        )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="seed of the request paths")
    parser.add_argument(
        "--min-time", type=float, default=0.02, help="seconds per timed run (best of several)"
    )
    parser.add_argument("--rounds", type=int, default=9, help="samples per microweb timer")
    parser.add_argument(
        "--starlette-rounds", type=int, default=3, help="samples per Starlette timer"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    tables: list[tuple[str, Routes]] = [
        ("hono", HONO_ROUTES),
        ("github", GITHUB_ROUTES),
        ("github-rx", reg_exp_subset(GITHUB_ROUTES)),
    ]
    tables += [(f"synth-{n}", synthetic_routes(n)) for n in (10, 100, 300, 1000)]
    # the same table through one regex, as RegExpRouter matched before it had buckets
    tables.append(("synth-1000", synthetic_routes(1000)))

    started = time.perf_counter()
    rows = []
    mw_timers: list[Timer] = []
    st_timers: list[Timer] = []
    for i, (name, routes) in enumerate(tables):
        one_regex = i == len(tables) - 1
        row, mw, st = prepare_table(name, routes, rng, args.min_time, one_regex)
        rows.append(row)
        mw_timers += mw
        st_timers += st
    print(f"  tables ready ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    for round_ in range(args.rounds):
        for timer in mw_timers:
            timer.sample()
        if round_ < args.starlette_rounds:
            for timer in st_timers:
                timer.sample()
        print(f"  round {round_ + 1}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    ok = print_report(rows)
    elapsed = time.perf_counter() - started
    print(f"\n{sys.implementation.name} {sys.version.split()[0]}; {elapsed:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
