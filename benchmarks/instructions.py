"""Instructions per request, counted with callgrind: microweb against bare ASGI and Starlette.

Usage (from the repository root; ``make bench-instr`` installs valgrind and runs it)::

    .venv/bin/python benchmarks/instructions.py [--only hello,json] [--repeat 2] [--json]
                                                [--jobs 2] [--results benchmarks/RESULTS.md]

Wall-clock figures on a shared machine swing 10-30% between runs; an instruction count
does not. Each cell (a workload on one framework's app) runs twice under
``valgrind --tool=callgrind``: once serving ``N1`` requests, once ``N2``, each in a process
of its own that imports the app, runs its lifespan start-up, serves the requests and shuts
down. The two processes differ only in the requests, so

    instructions per request = (I(N2) - I(N1)) / (N2 - N1)

and the imports, the start-up, the first requests (lazily built routers, caches) and the
exit cancel out. ``--repeat`` runs every cell again and reports the spread.

The requests go straight into the ASGI app through one small driver (``Exchange`` and
``serve`` below), the same for every framework: no HTTP, no server, no httpx. Its own
cost (a scope dict, a receive and a send a request) is in every count, and is most of the
bare app's: the bare column is the floor, driver included. On the Redis row the count is
this process's share only (the event loop and the client); redis-server's work is not in it.

Determinism: the children run with ``PYTHONHASHSEED=0`` and freeze the start-up objects
(``gc.freeze()``) so that a full collection does not walk every imported module at a
moment that differs between N1 and N2; the cyclic collector still runs, on the objects
the requests make. Before the counted runs, each cell runs natively once: it checks the
answers (status, body, the session count) and writes the bytecode caches, so that no
counted run compiles a module the other did not.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime
import functools
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
DEFAULT_RESULTS = _HERE / "RESULTS.md"
# benchmarks/throughput.py keeps this section when it rewrites RESULTS.md.
RESULTS_HEADING = "## Instructions per request"

Message = MutableMapping[str, Any]
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]

FRAMEWORKS = ("bare", "microweb", "starlette")
REDIS_URL = "redis://127.0.0.1:6379/0"
# The Redis apps read their key prefix from BENCH_REDIS_PREFIX; every key this script makes
# starts with this, and only those keys are deleted (before and after the run).
REDIS_PREFIX = "microweb-instr:"


@dataclass(frozen=True)
class Workload:
    """One request, sent over and over, and the apps that answer it."""

    name: str
    label: str
    path: str
    expect: bytes  # a substring of the correct body
    apps: dict[str, str]  # framework -> module:attribute
    headers: tuple[tuple[bytes, bytes], ...] = ()
    # A session workload: the body is {"visits": n}; the driver keeps the session cookie
    # and sends it back, so every request after the first reads, changes and saves it.
    session: bool = False
    redis: bool = False
    # Column notes for the table ("signed cookie"): what the peer's app is on this row.
    notes: dict[str, str] = field(default_factory=dict)


_APPS = "benchmarks.apps"
# What a browser sends besides Host and Cookie (Chromium, a page load): the other rows
# send one or two headers, and per-header work (the Host check, the Cookie scan) shows
# here.
BROWSER_HEADERS = (
    (b"connection", b"keep-alive"),
    (b"cache-control", b"max-age=0"),
    (b"upgrade-insecure-requests", b"1"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"sec-fetch-site", b"none"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-user", b"?1"),
    (b"sec-fetch-dest", b"document"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"accept-language", b"en-US,en;q=0.9"),
)
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "hello",
            "GET / text",
            "/",
            b"Hello, World!",
            {
                "bare": f"{_APPS}.bare:app",
                "microweb": f"{_APPS}.microweb_app:app",
                "starlette": f"{_APPS}.starlette_app:app",
            },
        ),
        Workload(
            "json",
            "GET /users/:id JSON",
            "/users/42",
            b'"name":"user"',
            {
                "bare": f"{_APPS}.bare:app",
                "microweb": f"{_APPS}.microweb_app:app",
                "starlette": f"{_APPS}.starlette_app:app",
            },
        ),
        Workload(
            "session",
            "memory session: read, change a key, save, cookie back",
            "/session",
            b'"visits"',
            {
                "bare": f"{_APPS}.bare_memory:app",
                "microweb": f"{_APPS}.microweb_app:session_memory_app",
                "starlette": f"{_APPS}.starlette_app:session_app",
            },
            session=True,
            notes={"bare": "a dict", "starlette": "signed cookie"},
        ),
        Workload(
            "session-browser",
            "memory session, with the dozen request headers a browser sends",
            "/session",
            b'"visits"',
            {
                "bare": f"{_APPS}.bare_memory:app",
                "microweb": f"{_APPS}.microweb_app:session_memory_app",
                "starlette": f"{_APPS}.starlette_app:session_app",
            },
            headers=BROWSER_HEADERS,
            session=True,
            notes={"bare": "a dict", "starlette": "signed cookie"},
        ),
        Workload(
            "api",
            "cors + secure_headers + request_id + etag on /users/:id",
            "/users/42",
            b'"name":"user"',
            {
                "microweb": f"{_APPS}.microweb_app:api_app",
                "starlette": f"{_APPS}.starlette_app:api_app",
            },
            headers=((b"origin", b"https://app.example"),),
            notes={"starlette": "its CORS + pure ASGI middleware"},
        ),
        Workload(
            "session-redis",
            "Redis session: read, change a key, save, cookie back",
            "/session",
            b'"visits"',
            {
                "bare": f"{_APPS}.bare_redis:app",
                "microweb": f"{_APPS}.microweb_app:session_redis_app",
            },
            session=True,
            redis=True,
            notes={"bare": "redis-py, one GET and one SET"},
        ),
        Workload(
            "template",
            "Jinja template, 20 rows",
            "/page",
            b"User number 19",
            {
                "microweb": f"{_APPS}.microweb_app:template_app",
                "starlette": f"{_APPS}.starlette_app:template_app",
            },
        ),
    )
}

# N1 and N2: 2,000 counted requests a cell. The counts are steady to well under 0.1% at
# that size (see RESULTS.md), and the slowest cell (Starlette's API stack, ~340k
# instructions a request) stays under 20 s of callgrind.
DEFAULT_N1 = 200
DEFAULT_N2 = 1200
CHECK_REQUESTS = 20  # the native run before the counted ones


# -- the driver (runs in the child) -----------------------------------------------------


_REQUEST_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}
_DISCONNECT: Message = {"type": "http.disconnect"}


class Exchange:
    """One request's receive and send: the body once, then a disconnect; the response's
    status, headers and body chunks kept as they come."""

    __slots__ = ("body", "headers", "received", "status")

    def __init__(self) -> None:
        self.received = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    async def receive(self) -> Message:
        if self.received:
            return _DISCONNECT
        self.received = True
        return _REQUEST_BODY

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", [])
        elif message["type"] == "http.response.body":
            self.body.append(message.get("body", b""))


def _scope(workload: Workload, cookie: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"bench.example"), *workload.headers]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": workload.path,
        "raw_path": workload.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _set_cookie(headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
    """The name=value of the last Set-Cookie among `headers`, if any."""
    found = None
    for name, value in headers:
        if name.lower() == b"set-cookie":
            found = value.split(b";", 1)[0]
    return found


class Lifespan:
    """Runs the app's lifespan protocol: start-up before the requests, shutdown after."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        try:
            await self.app({**scope, "state": {}}, self.inbox.get, self.outbox.put)
        finally:
            await self.outbox.put({"type": "lifespan.gone"})

    async def _exchange(self, kind: str) -> None:
        await self.inbox.put({"type": f"lifespan.{kind}"})
        answer = await self.outbox.get()
        if answer["type"] == f"lifespan.{kind}.failed":
            raise RuntimeError(f"lifespan {kind} failed: {answer.get('message')}")

    async def __aenter__(self) -> Lifespan:
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self._exchange("startup")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._exchange("shutdown")
        assert self.task is not None
        await self.task


async def serve(app: ASGIApp, workload: Workload, requests: int) -> dict[str, Any]:
    """Start `app`, send it the workload's request `requests` times after a first one
    (which creates the session on session workloads), shut it down; return what the
    last answer was, for the parent to check."""
    cookie: bytes | None = None
    session = workload.session
    async with Lifespan(app):
        exchange = Exchange()
        await app(_scope(workload, cookie), exchange.receive, exchange.send)
        if session:
            cookie = _set_cookie(exchange.headers)
        gc.collect()
        gc.freeze()
        template = _scope(workload, cookie)
        headers = template["headers"]
        for _ in range(requests):
            exchange = Exchange()
            await app({**template, "headers": headers[:]}, exchange.receive, exchange.send)
            if exchange.status != 200:
                break
            if session:
                new = _set_cookie(exchange.headers)
                if new is not None and new != cookie:
                    cookie = new
                    template = _scope(workload, cookie)
                    headers = template["headers"]
    body = b"".join(exchange.body)
    return {
        "status": exchange.status,
        "body": body.decode("utf-8", "replace")[:400],
        "ok": workload.expect in body,
        "cookie": cookie is not None,
    }


def _import(target: str) -> ASGIApp:
    module_name, _, attribute = target.partition(":")
    app: ASGIApp = getattr(importlib.import_module(module_name), attribute)
    return app


def child(workload_name: str, framework: str, requests: int) -> None:
    """The process callgrind counts: import, start, serve, stop, print the last answer."""
    # The repository root (the parent runs us there), for benchmarks.apps: after
    # site-packages, so that under --python an installed microweb (the compiled wheel) is
    # the one imported rather than the source tree's.
    sys.path.append(os.getcwd())
    workload = WORKLOADS[workload_name]
    app = _import(workload.apps[framework])
    try:
        import uvloop

        run: Callable[[Awaitable[dict[str, Any]]], dict[str, Any]] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        run = asyncio.run
    print(json.dumps(run(serve(app, workload, requests))))


# -- the parent -------------------------------------------------------------------------


class InstrumentError(Exception):
    """A cell could not be counted, or its answers were wrong."""


@functools.cache
def _child_script() -> str:
    """A copy of this file for the children to run: a script is compiled afresh by every
    process that runs it, so an edit during a run would change the start-up of the runs
    after it, which would then no longer cancel out between N1 and N2."""
    directory = Path(tempfile.mkdtemp(prefix="microweb-instr-child-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    copy = directory / "instructions_child.py"
    shutil.copyfile(__file__, copy)
    return str(copy)


# The interpreter the children run (--python): this one unless told.
_PYTHON = [sys.executable]


def _serve(workload: Workload, framework: str, requests: int, prefix: Sequence[str] = ()) -> None:
    """Run the child serving `requests` requests (under `prefix`, e.g. valgrind) and check
    its last answer."""
    completed = subprocess.run(
        [
            *prefix,
            _PYTHON[0],
            _child_script(),
            "--child",
            workload.name,
            framework,
            str(requests),
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONHASHSEED": "0",
            "BENCH_REDIS_PREFIX": f"{REDIS_PREFIX}{framework}:",
        },
        cwd=REPO_ROOT,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        raise InstrumentError(
            f"{workload.name}/{framework} failed ({' '.join(prefix[:2]) or 'natively'}):\n"
            f"{completed.stderr[-3000:]}"
        )
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise InstrumentError(
            f"{workload.name}/{framework}: no answer: {completed.stdout!r}"
        ) from None
    if answer["status"] != 200 or not answer["ok"]:
        raise InstrumentError(f"{workload.name}/{framework} answers wrongly: {answer}")
    if workload.session:
        # The first request created the session; each of the others counted one more.
        visits = json.loads(answer["body"])["visits"]
        if not answer["cookie"] or visits != requests + 1:
            raise InstrumentError(
                f"{workload.name}/{framework}: the session did not come back "
                f"(visits={visits} after {requests + 1} requests, cookie={answer['cookie']})"
            )


def check_cell(workload: Workload, framework: str) -> None:
    """Serve a few requests natively: the answers are right, and the bytecode is cached."""
    _serve(workload, framework, CHECK_REQUESTS)


_SUMMARY = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)


def count(workload: Workload, framework: str, requests: int) -> int:
    """Instructions the child executes, start to exit, serving `requests` requests."""
    with tempfile.TemporaryDirectory(prefix="microweb-instr-") as tmp:
        out = Path(tmp) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        _serve(workload, framework, requests, (*valgrind, "--dump-line=no"))
        match = _SUMMARY.search(out.read_text(errors="replace"))
        if match is None:
            raise InstrumentError(f"no instruction total in callgrind's output ({out})")
        return int(match.group(1))


@dataclass
class Cell:
    workload: Workload
    framework: str
    # One per repeat: (I(N1), I(N2)).
    totals: list[tuple[int, int]] = field(default_factory=list)

    def per_request(self, n1: int, n2: int) -> list[float]:
        return [(i2 - i1) / (n2 - n1) for i1, i2 in self.totals]

    def median(self, n1: int, n2: int) -> float:
        return statistics.median(self.per_request(n1, n2))

    def spread(self, n1: int, n2: int) -> float:
        """(max - min) / median over the repeats."""
        values = self.per_request(n1, n2)
        return (max(values) - min(values)) / statistics.median(values)


def _clean_redis() -> int:
    try:
        import redis
    except ImportError:
        return 0
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=REDIS_PREFIX + "*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def _redis_answers() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def measure(args: argparse.Namespace) -> tuple[list[Cell], list[str]]:
    warnings: list[str] = []
    workloads: list[Workload] = args.workloads
    if any(w.redis for w in workloads) and not _redis_answers():
        message = "Redis does not answer at 127.0.0.1:6379: skipping the Redis session row"
        print(f"warning: {message}", file=sys.stderr)
        warnings.append(message)
        workloads = [w for w in workloads if not w.redis]
    cells = [Cell(w, f) for w in workloads for f in args.frameworks if f in w.apps]
    runs = [
        (cell, repeat, n)
        for repeat in range(args.repeat)
        for cell in cells
        for n in (args.n1, args.n2)
    ]
    print(
        f"# {len(cells)} cells x {args.repeat} repeat(s) x 2 runs (N1={args.n1}, "
        f"N2={args.n2}) under callgrind, {args.jobs} at a time",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    _clean_redis()
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for cell in cells:
                check_cell(cell.workload, cell.framework)
            futures = {
                pool.submit(count, cell.workload, cell.framework, n): (cell, repeat, n)
                for cell, repeat, n in runs
            }
            totals: dict[tuple[int, int], dict[int, int]] = {}
            for future in as_completed(futures):
                cell, repeat, n = futures[future]
                both = totals.setdefault((id(cell), repeat), {})
                both[n] = future.result()
                if len(both) == 2:
                    per_request = (both[args.n2] - both[args.n1]) / (args.n2 - args.n1)
                    print(
                        f"{cell.workload.name:<14} {cell.framework:<10} repeat {repeat + 1}: "
                        f"{per_request:>12,.0f} instructions/request "
                        f"({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
        for cell in cells:
            for repeat in range(args.repeat):
                both = totals[(id(cell), repeat)]
                cell.totals.append((both[args.n1], both[args.n2]))
    finally:
        _clean_redis()
    return cells, warnings


# -- reporting --------------------------------------------------------------------------


def _k(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:,.1f}k"


def _lookup(cells: Sequence[Cell], workload: str, framework: str) -> Cell | None:
    for cell in cells:
        if cell.workload.name == workload and cell.framework == framework:
            return cell
    return None


def table(cells: Sequence[Cell], n1: int, n2: int) -> str:
    lines = [
        "| workload | bare ASGI | microweb | Starlette | microweb - bare | "
        "microweb / bare | Starlette / microweb | spread |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(cell.workload.name for cell in cells):
        workload = WORKLOADS[name]
        found = {f: _lookup(cells, workload.name, f) for f in FRAMEWORKS}
        value = {f: c.median(n1, n2) if c else None for f, c in found.items()}
        shown = []
        for framework in FRAMEWORKS:
            note = workload.notes.get(framework)
            text = _k(value[framework])
            shown.append(f"{text} ({note})" if note and value[framework] else text)
        bare, subject, peer = value["bare"], value["microweb"], value["starlette"]
        spreads = [c.spread(n1, n2) for c in found.values() if c and len(c.totals) > 1]
        lines.append(
            f"| {workload.label} | {' | '.join(shown)} "
            f"| {'+' + _k(subject - bare) if bare and subject else '-'} "
            f"| {f'{subject / bare:.2f}x' if bare and subject else '-'} "
            f"| {f'{peer / subject:.2f}x' if peer and subject else '-'} "
            f"| {f'{max(spreads):.3%}' if spreads else '-'} |"
        )
    return "\n".join(lines)


def as_json(cells: Sequence[Cell], args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    return {
        "n1": args.n1,
        "n2": args.n2,
        "repeat": args.repeat,
        "environment": env,
        "cells": [
            {
                "workload": cell.workload.name,
                "framework": cell.framework,
                "totals": cell.totals,
                "per_request": [round(v, 1) for v in cell.per_request(args.n1, args.n2)],
                "median": round(cell.median(args.n1, args.n2), 1),
                "spread": round(cell.spread(args.n1, args.n2), 6),
            }
            for cell in cells
        ],
    }


def from_json(path: Path, args: argparse.Namespace) -> tuple[list[Cell], dict[str, str]]:
    """The cells and environment of an earlier `--json` run (its N1, N2 and repeat go into
    `args`)."""
    data = json.loads(path.read_text())
    args.n1, args.n2, args.repeat = data["n1"], data["n2"], data["repeat"]
    cells = [
        Cell(WORKLOADS[c["workload"]], c["framework"], [(i1, i2) for i1, i2 in c["totals"]])
        for c in data["cells"]
    ]
    return cells, data["environment"]


def environment() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("microweb", "starlette", "jinja2", "redis", "uvloop"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    valgrind = subprocess.run(
        ["valgrind", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    versions["valgrind"] = valgrind.removeprefix("valgrind-")
    build = subprocess.run(
        # -P: not the working directory's microweb (the source tree) but the install's
        [_PYTHON[0], "-P", "-c", "import microweb; print(getattr(microweb, 'compiled', False))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    versions["microweb build"] = {"True": "compiled", "False": "pure Python"}.get(build, "?")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    ).stdout.strip()
    versions["commit"] = commit or "unknown"
    versions["date"] = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}"
    return versions


def results_section(
    cells: Sequence[Cell], args: argparse.Namespace, env: dict[str, str], title: str
) -> str:
    versions = ", ".join(f"{name} {env[name]}" for name in env if name not in ("commit", "date"))
    return "\n".join(
        [
            f"### {title}",
            "",
            f"`benchmarks/instructions.py --repeat {args.repeat}` on commit {env['commit']}, "
            f"{env['date']}: {versions}. Instructions per request, "
            f"(I({args.n2}) - I({args.n1})) / {args.n2 - args.n1}, the median of "
            f"{args.repeat} run{'s' if args.repeat > 1 else ''}; `spread` is (max - min) / "
            "median over the runs, the worst cell of the row.",
            "",
            table(cells, args.n1, args.n2),
        ]
    )


# -- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"from {list(WORKLOADS)}")
    parser.add_argument("--repeat", type=int, default=1, help="run every cell this many times")
    parser.add_argument("--n1", type=int, default=DEFAULT_N1)
    parser.add_argument("--n2", type=int, default=DEFAULT_N2)
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="callgrind runs at a time"
    )
    parser.add_argument("--json", action="store_true", help="print the cells as JSON")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="measure nothing: report the cells of an earlier --json run",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="replace the table of this Markdown file's instructions section",
    )
    parser.add_argument("--title", default="Today", help="the table's heading in --results")
    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help=f"from {list(FRAMEWORKS)}: e.g. microweb alone, to count one build against another",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter whose microweb is counted, e.g. .venv-compiled/bin/python",
    )
    parser.add_argument("--child", nargs=3, metavar=("WORKLOAD", "FRAMEWORK", "N"))
    args = parser.parse_args(argv)
    if args.child:
        return args
    _PYTHON[0] = args.python
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        parser.error(f"unknown workloads {unknown}; known: {list(WORKLOADS)}")
    args.workloads = [WORKLOADS[name] for name in WORKLOADS if name in names]
    frameworks = [name.strip() for name in args.frameworks.split(",") if name.strip()]
    if not frameworks or set(frameworks) - set(FRAMEWORKS):
        parser.error(f"unknown frameworks {frameworks}; known: {list(FRAMEWORKS)}")
    args.frameworks = [name for name in FRAMEWORKS if name in frameworks]
    if not 0 < args.n1 < args.n2:
        parser.error("need 0 < --n1 < --n2")
    if args.repeat < 1 or args.jobs < 1:
        parser.error("--repeat and --jobs must be >= 1")
    return args


def write_results(path: Path, section: str, title: str) -> None:
    """Put `section` under RESULTS_HEADING in `path`, replacing the table of the same
    title if there is one; the rest of the file is kept."""
    text = path.read_text() if path.exists() else "# microweb benchmark results\n"
    heading = re.search(rf"^{re.escape(RESULTS_HEADING)}\n", text, re.M)
    if heading is None:
        # Before the throughput table (where throughput.py keeps it), else at the end.
        throughput = re.search(r"^## Throughput", text, re.M)
        at = throughput.start() if throughput else len(text)
        text = f"{text[:at].rstrip()}\n\n{RESULTS_HEADING}\n\n{section}\n\n{text[at:]}"
    else:
        end = re.compile(r"^## ", re.M).search(text, heading.end())
        stop = end.start() if end else len(text)
        body = text[heading.end() : stop]
        old = re.search(rf"^### {re.escape(title)}\n.*?(?=^### |\Z)", body, re.M | re.S)
        if old is None:
            body = body.rstrip("\n") + f"\n\n{section}\n\n"
        else:
            body = body[: old.start()] + section + "\n\n" + body[old.end() :].lstrip("\n")
        text = text[: heading.end()] + body + text[stop:]
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        workload, framework, requests = args.child
        child(workload, framework, int(requests))
        return 0
    if args.from_json is not None:
        cells, env = from_json(args.from_json, args)
        warnings: list[str] = []
    elif shutil.which("valgrind") is None:
        print(
            "error: valgrind is not installed. Run `make bench-instr`, or "
            "`apt-get install -y valgrind`.",
            file=sys.stderr,
        )
        return 2
    else:
        env = environment()
        try:
            cells, warnings = measure(args)
        except InstrumentError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(as_json(cells, args, env), indent=2))
    else:
        print()
        print(table(cells, args.n1, args.n2))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.results is not None:
        section = results_section(cells, args, env, args.title)
        write_results(args.results, section, args.title)
        print(f"wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
