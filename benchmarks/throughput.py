"""HTTP throughput of microweb against a bare ASGI app and its peers, measured with wrk.

Usage (from the repository root)::

    .venv/bin/python benchmarks/throughput.py [--duration 5] [--rounds 3] [--connections 64]
                                        [--only hello,json] [--servers bare,microweb]
                                        [--no-compiled] [--results benchmarks/RESULTS.md]

Each server runs under the same uvicorn (1 worker, uvloop, httptools, no access log) on
127.0.0.1, or, for the granian rows, under granian (1 worker, uvloop, ASGI interface). Its
answers are checked, it is warmed up, then wrk loads it for ``--duration`` seconds per row.
The ``compiled`` servers serve microweb's apps from the mypyc-compiled wheel installed in
``.venv-compiled`` (``make compiled-venv``), beside the pure-Python ``microweb`` ones.
Rounds are interleaved (round 1: every server, round 2: every server, ...) so that drift in
the machine hits all servers alike; the table shows the median over rounds. A full run
(every row, every server) also measures ``benchmarks/footprint.py`` and writes everything
to ``benchmarks/RESULTS.md``.

To add a peer: write ``benchmarks/apps/<name>.py`` exposing an ASGI app that serves the rows,
and add it to ``SERVERS`` and ``SERVES``.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import FrameType
from typing import Any

_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
SUBJECT = "microweb"
# The same microweb apps served by the compiled wheel (``make compiled-venv``): each runs
# under .venv-compiled's Python, from a copy of benchmarks/apps without microweb/ (see
# `compiled_tree`), and the harness checks that it imports the compiled build.
COMPILED = "compiled"
COMPILED_VENV = REPO_ROOT / ".venv-compiled"
# `vs base`: the row's first of these (the bare ASGI app, else Starlette).
BASELINES = ("bare", "starlette")
DEFAULT_RESULTS = _HERE / "RESULTS.md"

# name -> module:attribute of the ASGI app. A server's framework is its name up to the first
# "-" (``microweb-redis`` is microweb); within a row, each framework has at most one server.
# Order is the order within a row.
SERVERS: dict[str, str] = {
    "bare": "benchmarks.apps.bare:app",
    "starlette": "benchmarks.apps.starlette_app:app",
    "blacksheep": "benchmarks.apps.blacksheep_app:app",
    "litestar": "benchmarks.apps.litestar_app:app",
    "fastapi": "benchmarks.apps.fastapi_app:app",
    "microweb": "benchmarks.apps.microweb_app:app",
    "compiled": "benchmarks.apps.microweb_app:app",
    "bare-memory": "benchmarks.apps.bare_memory:app",
    "starlette-cookie": "benchmarks.apps.starlette_app:session_app",
    "litestar-memory": "benchmarks.apps.litestar_app:session_memory_app",
    "microweb-memory": "benchmarks.apps.microweb_app:session_memory_app",
    "compiled-memory": "benchmarks.apps.microweb_app:session_memory_app",
    "bare-redis": "benchmarks.apps.bare_redis:app",
    "litestar-redis": "benchmarks.apps.litestar_app:session_redis_app",
    "microweb-redis": "benchmarks.apps.microweb_app:session_redis_app",
    "compiled-redis": "benchmarks.apps.microweb_app:session_redis_app",
    "bare-postgres": "benchmarks.apps.bare_postgres:app",
    "django-postgres": "benchmarks.apps.django_postgres:app",
    "microweb-postgres": "benchmarks.apps.microweb_app:session_postgres_app",
    "compiled-postgres": "benchmarks.apps.microweb_app:session_postgres_app",
    "bare-sqlite": "benchmarks.apps.bare_sqlite:app",
    "django-sqlite": "benchmarks.apps.django_sqlite:app",
    "microweb-sqlite": "benchmarks.apps.microweb_app:session_sqlite_app",
    "compiled-sqlite": "benchmarks.apps.microweb_app:session_sqlite_app",
    "starlette-mw": "benchmarks.apps.starlette_app:middleware_app",
    "blacksheep-mw": "benchmarks.apps.blacksheep_app:middleware_app",
    "litestar-mw": "benchmarks.apps.litestar_app:middleware_app",
    "microweb-mw": "benchmarks.apps.microweb_app:middleware_app",
    "compiled-mw": "benchmarks.apps.microweb_app:middleware_app",
    "starlette-api": "benchmarks.apps.starlette_app:api_app",
    "litestar-api": "benchmarks.apps.litestar_app:api_app",
    "microweb-api": "benchmarks.apps.microweb_app:api_app",
    "compiled-api": "benchmarks.apps.microweb_app:api_app",
    "starlette-gzip": "benchmarks.apps.starlette_app:gzip_app",
    "microweb-gzip": "benchmarks.apps.microweb_app:gzip_app",
    "compiled-gzip": "benchmarks.apps.microweb_app:gzip_app",
    "starlette-static": "benchmarks.apps.starlette_app:static_app",
    "microweb-static": "benchmarks.apps.microweb_app:static_app",
    "compiled-static": "benchmarks.apps.microweb_app:static_app",
    "starlette-template": "benchmarks.apps.starlette_app:template_app",
    "microweb-template": "benchmarks.apps.microweb_app:template_app",
    "compiled-template": "benchmarks.apps.microweb_app:template_app",
    # The same apps under granian (a Rust server) instead of uvicorn: GRANIAN names them.
    "bare-granian": "benchmarks.apps.bare:app",
    "starlette-granian": "benchmarks.apps.starlette_app:app",
    "microweb-granian": "benchmarks.apps.microweb_app:app",
    "compiled-granian": "benchmarks.apps.microweb_app:app",
}
# Servers run by granian (--interface asgi, 1 worker, uvloop, no access log); every other
# server runs under uvicorn.
GRANIAN = frozenset({"bare-granian", "starlette-granian", "microweb-granian", "compiled-granian"})

# server -> the rows it is measured on.
_BASIC = ("hello", "json", "echo")
SERVES: dict[str, tuple[str, ...]] = {
    "bare": _BASIC,
    "starlette": _BASIC,
    "blacksheep": _BASIC,
    "litestar": _BASIC,
    "fastapi": ("json", "echo"),
    "microweb": _BASIC,
    "compiled": _BASIC,
    "bare-memory": ("session",),
    "starlette-cookie": ("session",),
    "litestar-memory": ("session",),
    "microweb-memory": ("session",),
    "compiled-memory": ("session",),
    "bare-redis": ("session-redis",),
    "litestar-redis": ("session-redis",),
    "microweb-redis": ("session-redis",),
    "compiled-redis": ("session-redis",),
    "bare-postgres": ("session-postgres",),
    "django-postgres": ("session-postgres",),
    "microweb-postgres": ("session-postgres",),
    "compiled-postgres": ("session-postgres",),
    "bare-sqlite": ("session-sqlite",),
    "django-sqlite": ("session-sqlite",),
    "microweb-sqlite": ("session-sqlite",),
    "compiled-sqlite": ("session-sqlite",),
    "starlette-mw": ("middleware",),
    "blacksheep-mw": ("middleware",),
    "litestar-mw": ("middleware",),
    "microweb-mw": ("middleware",),
    "compiled-mw": ("middleware",),
    "starlette-api": ("api",),
    "litestar-api": ("api",),
    "microweb-api": ("api",),
    "compiled-api": ("api",),
    "starlette-gzip": ("gzip",),
    "microweb-gzip": ("gzip",),
    "compiled-gzip": ("gzip",),
    "starlette-static": ("static",),
    "microweb-static": ("static",),
    "compiled-static": ("static",),
    "starlette-template": ("template",),
    "microweb-template": ("template",),
    "compiled-template": ("template",),
    "bare-granian": ("hello-granian", "json-granian"),
    "starlette-granian": ("hello-granian", "json-granian"),
    "microweb-granian": ("hello-granian", "json-granian"),
    "compiled-granian": ("hello-granian", "json-granian"),
}

# Redis: where the session-redis servers keep their sessions. The prefixes must match the
# apps (microweb_app.REDIS_PREFIX, litestar_app.REDIS_NAMESPACE, bare_redis.REDIS_PREFIX);
# keys under them are deleted before and after a run, and nothing else is ever touched.
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 0
REDIS_PREFIXES = ("microweb-bench:", "litestar-bench:", "bare-bench:")

ECHO_BODY = '{"id":42,"name":"user","tags":["a","b","c"],"active":true,"score":9.5}'


@dataclass(frozen=True)
class Row:
    """One endpoint under load, and how to check a server answers it correctly."""

    name: str
    label: str
    method: str
    path: str
    body: str | None
    expect: bytes  # a substring of a correct response body
    # A session row: the answer is {"visits": n}; wrk runs one thread per connection and each
    # thread sends back the cookie its connection got, so each connection keeps one session.
    session: bool = False
    # Request headers every request of the row carries (Origin, Accept-Encoding, ...).
    headers: tuple[tuple[str, str], ...] = ()


ROWS: dict[str, Row] = {
    "hello": Row("hello", "GET /", "GET", "/", None, b"Hello, World!"),
    "json": Row("json", "GET /users/:id", "GET", "/users/42", None, b'"name":"user"'),
    "hello-granian": Row("hello-granian", "GET / (granian)", "GET", "/", None, b"Hello, World!"),
    "json-granian": Row(
        "json-granian", "GET /users/:id (granian)", "GET", "/users/42", None, b'"name":"user"'
    ),
    "echo": Row("echo", "POST /echo", "POST", "/echo", ECHO_BODY, b'"tags":["a","b","c"]'),
    "session": Row(
        "session", "session, in process", "GET", "/session", None, b'"visits"', session=True
    ),
    "session-redis": Row(
        "session-redis", "session, Redis", "GET", "/session", None, b'"visits"', session=True
    ),
    "session-postgres": Row(
        "session-postgres", "session, PostgreSQL", "GET", "/session", None, b'"visits"', True
    ),
    "session-sqlite": Row(
        "session-sqlite", "session, SQLite", "GET", "/session", None, b'"visits"', session=True
    ),
    "middleware": Row("middleware", "GET / + 5 middleware", "GET", "/", None, b"Hello, World!"),
    "api": Row(
        "api",
        "API stack (cors, secure headers, request id, etag)",
        "GET",
        "/users/42",
        None,
        b'"name":"user"',
        headers=(("Origin", "https://app.example"),),
    ),
    "gzip": Row(
        "gzip",
        "gzip, 20 KB JSON",
        "GET",
        "/data",
        None,
        b"\x1f\x8b\x08",  # the gzip header: the body arrived compressed
        headers=(("Accept-Encoding", "gzip"),),
    ),
    "static": Row("static", "static file, 10 KB", "GET", "/static/asset.css", None, b".item-0 {"),
    "template": Row("template", "Jinja template, 20 rows", "GET", "/page", None, b"User number 19"),
}

# Targets microweb must hit (row -> framework -> minimum ratio microweb / it); only reported.
TARGETS: dict[str, dict[str, float]] = {
    "hello": {"bare": 0.90, "starlette": 1.35, "blacksheep": 1.0},
    "json": {"bare": 0.90, "starlette": 1.35, "blacksheep": 1.0},
    "session": {"starlette": 2.5},
    "session-redis": {"litestar": 2.0, "bare": 1.0},
    "session-postgres": {"django": 3.0, "bare": 1.0},
    "session-sqlite": {"django": 3.0, "bare": 1.0},
    "api": {"starlette": 1.5, "litestar": 2.0},
    "gzip": {"starlette": 1.3},
    "static": {"starlette": 1.5},
    "template": {"starlette": 1.3},
}

DEFAULT_DURATION = 5.0  # x 3 rounds: `make bench` (63 cells, 46 servers) takes about 18 min
DEFAULT_ROUNDS = 3
DEFAULT_CONNECTIONS = 64
WARMUP_SECONDS = 1.0  # per row and server, before the first round
START_TIMEOUT = 60.0  # all the servers import their frameworks at once, on one CPU
# A measurement during which other processes used more than this much of a CPU is taken again
# (after waiting for a quiet moment), within RETRY_BUDGET_SECONDS for the whole run.
BUSY_LIMIT = 0.2
RETRY_BUDGET_SECONDS = 60.0


@dataclass
class WrkResult:
    requests_per_sec: float
    total_requests: int
    latency_p50: str
    latency_p99: str
    non_2xx: int
    socket_errors: int
    error_detail: str
    # CPU used meanwhile by processes other than the server, wrk and (for Redis rows) the
    # redis-server, in CPUs (0.5 = half of one CPU); None when it could not be measured.
    others_cpu: float | None = None


@dataclass
class Server:
    name: str
    target: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    results: dict[str, list[WrkResult]] = field(default_factory=dict)

    @property
    def framework(self) -> str:
        return framework_of(self.name)

    @property
    def rows(self) -> tuple[str, ...]:
        return SERVES.get(self.name, _BASIC)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class BenchmarkError(Exception):
    """A setup problem that makes the numbers meaningless."""


def framework_of(server_name: str) -> str:
    return server_name.split("-", 1)[0]


# -- processes ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_pinning(enabled: bool) -> tuple[list[str], list[str]]:
    """Command prefixes that put the server and wrk on different CPUs, when possible."""
    if not enabled or shutil.which("taskset") is None:
        return [], []
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return [], []
    return ["taskset", "-c", str(cpus[-1])], ["taskset", "-c", str(cpus[0])]


def start_server(
    name: str,
    target: str,
    prefix: Sequence[str],
    log_dir: Path,
    extra: Sequence[str] = (),
    compiled_venv: Path = COMPILED_VENV,
) -> Server:
    """Serve `target` under the benchmarks' uvicorn settings (plus `extra` options), or
    under granian's for the servers in GRANIAN.

    Servers run by this interpreter from the repository root, so they import microweb from
    the source tree, except the compiled build's: those run by `compiled_venv`'s interpreter
    from a copy of the apps without microweb/ (`compiled_tree`, in `log_dir`), so they
    import the wheel installed there."""
    port = _free_port()
    log_path = log_dir / f"{name}.log"
    common = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop"]
    common += ["--log-level", "warning"]
    if name in GRANIAN:  # no access log unless asked for
        server = ["granian", "--interface", "asgi", *common, *extra, target]
    else:
        server = ["uvicorn", target, *common, "--http", "httptools", "--no-access-log", *extra]
    if framework_of(name) == COMPILED:
        python = str(compiled_venv / "bin" / "python")
        command = [*prefix, python, "-m", *server]
        tree = compiled_tree(log_dir)
        return spawn_server(name, target, port, command, log_path, tree, compiled_env())
    command = [*prefix, sys.executable, "-m", *server]
    return spawn_server(name, target, port, command, log_path)


def spawn_server(
    name: str,
    target: str,
    port: int,
    command: Sequence[str],
    log_path: Path,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
) -> Server:
    """Run `command` (a server of `target` on `port`) from `cwd` (the repository root unless
    told), its output in `log_path`."""
    with log_path.open("wb") as log:
        # A new session: Ctrl-C in the terminal reaches only us, and we stop the server
        # (and anything it spawned) through its own process group.
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, target, port, process, log_path)


def stop_server(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def running_servers(
    names: Sequence[str], prefix: Sequence[str], log_dir: Path, compiled_venv: Path = COMPILED_VENV
) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for name in names:
            server = start_server(name, SERVERS[name], prefix, log_dir, (), compiled_venv)
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            stop_server(server)


# -- the compiled build ------------------------------------------------------------------

# The packages whose versions must be the same in .venv and .venv-compiled for the two
# builds of microweb to be compared (the servers, and what the microweb apps use).
SHARED_PACKAGES = (
    "uvicorn",
    "uvloop",
    "httptools",
    "granian",
    "redis",
    "hiredis",
    "psycopg",
    "psycopg-binary",
    "jinja2",
    "itsdangerous",
)

# Run by the compiled venv's Python exactly as its servers run (same cwd, environment and
# so sys.path): the microweb the benchmark apps import, and the shared packages' versions.
_COMPILED_CHECK = """\
import importlib.metadata, json, sys
import benchmarks.apps.microweb_app
import microweb
def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
print(json.dumps({
    "compiled": microweb.compiled,
    "file": microweb.__file__,
    "python": sys.version,
    "executable": sys.executable,
    "versions": {name: version(name) for name in sys.argv[1:]},
}))
"""


def compiled_tree(directory: Path) -> Path:
    """A copy of ``benchmarks/__init__.py`` and ``benchmarks/apps/`` in `directory`, made
    once: the compiled servers run from it. uvicorn and granian put their working directory
    first on sys.path, so from the repository root they would import the source tree's
    microweb/; from here, the only microweb is the installed wheel."""
    tree = directory / "compiled-tree"
    package = tree / "benchmarks"
    if not package.is_dir():
        package.mkdir(parents=True)
        shutil.copy2(_HERE / "__init__.py", package / "__init__.py")
        shutil.copytree(
            _HERE / "apps", package / "apps", ignore=shutil.ignore_patterns("__pycache__")
        )
    return tree


def compiled_env() -> dict[str, str]:
    """The compiled servers' environment: this one without PYTHONPATH (which could name
    the source tree)."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def _python_sources(package: Path) -> dict[str, bytes]:
    return {
        path.relative_to(package).as_posix(): path.read_bytes()
        for path in sorted(package.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_compiled(venv: Path, directory: Path) -> tuple[dict[str, Any] | None, str]:
    """Whether the compiled servers can run, asked of `venv`'s Python from the compiled
    tree: ``(what it reported, "")``, or ``(None, why not)`` when its microweb is not the
    compiled build, is not built from this tree's microweb/, or runs under another Python or
    other versions of the servers than this one."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None, f"no compiled build: {python} does not exist (make bench-compiled-deps)"
    completed: subprocess.CompletedProcess[str] | None = None
    try:
        completed = subprocess.run(
            [str(python), "-c", _COMPILED_CHECK, *SHARED_PACKAGES],
            cwd=compiled_tree(directory),
            env=compiled_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        info: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        error = (completed.stderr.strip().splitlines() or ["?"])[-1] if completed else "?"
        return None, (
            f"{python} cannot import the benchmark apps ({error}); make bench-compiled-deps"
        )
    package = Path(info["file"]).resolve().parent
    if not info["compiled"]:
        return None, f"{python} imports microweb from {package}, which is not compiled"
    if package == (REPO_ROOT / "microweb").resolve():
        return None, f"{python} imports the source tree's microweb/, not an installed wheel"
    if info["python"] != sys.version:
        return None, (
            f"{python} is Python {info['python'].split()[0]}, the other servers' is "
            f"{sys.version.split()[0]}"
        )
    versions: dict[str, str | None] = info["versions"]
    differ = [
        f"{name} {versions.get(name)} there, {_package_version(name)} here"
        for name in SHARED_PACKAGES
        if versions.get(name) != _package_version(name)
    ]
    if differ:
        return None, (
            f"{venv} has other versions than {Path(sys.prefix).name}: {'; '.join(differ)} "
            "(make bench-compiled-deps)"
        )
    ours, theirs = _python_sources(REPO_ROOT / "microweb"), _python_sources(package)
    stale = sorted(
        name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name)
    )
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        return None, (
            f"the compiled wheel in {venv} was built from other sources than microweb/ "
            f"({shown} differ): make bench-compiled-deps"
        )
    return info, ""


def microweb_extensions(pid: int) -> list[str] | None:
    """The files of microweb's C extensions mapped by process `pid` and its descendants
    (granian serves from a worker process), or None where ``/proc/<pid>/maps`` cannot be
    read (not Linux)."""
    found: set[str] = set()
    read_any = False
    for process in process_tree(pid):
        try:
            maps = Path(f"/proc/{process}/maps").read_text()
        except OSError:
            continue
        read_any = True
        for line in maps.splitlines():
            fields = line.split(maxsplit=5)  # address perms offset dev inode [path]
            path = fields[5].strip() if len(fields) == 6 else ""
            if "/microweb/" in path and path.endswith(tuple(EXTENSION_SUFFIXES)):
                found.add(path)
    return sorted(found) if read_any else None


def verify_build(server: Server) -> str | None:
    """Check, in the running server's own processes, that a compiled server serves the
    compiled build (its memory maps microweb/context's C extension, what ``microweb.compiled``
    tests) and that a pure one maps none of microweb's extensions. Raises BenchmarkError
    otherwise; returns what was found, or None where it cannot be seen."""
    if server.framework not in (SUBJECT, COMPILED):
        return None
    mapped = microweb_extensions(server.process.pid)
    if mapped is None:
        return None
    context = [path for path in mapped if Path(path).name.startswith("context.")]
    if server.framework == COMPILED and not context:
        raise BenchmarkError(
            f"{server.name} does not run the compiled build: no microweb/context extension "
            f"in its memory ({len(mapped)} microweb extensions mapped); not reporting it"
        )
    if server.framework == SUBJECT and mapped:
        raise BenchmarkError(
            f"{server.name} should run the pure-Python source tree but maps {mapped[0]}"
        )
    return context[0] if context else "no microweb C extension"


# -- checking answers --------------------------------------------------------------------


def http_response(
    port: int, row: Row, timeout: float = 2.0, cookie: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP/1.1 request over a raw socket (no stdlib ``http``: see the top of the file).

    Returns the status, the response headers (names lowercased) and the body."""
    body = (row.body or "").encode()
    head = (
        f"{row.method} {row.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n"
    )
    if row.body is not None:
        head += "Content-Type: application/json\r\n"
    for name, value in row.headers:
        head += f"{name}: {value}\r\n"
    if cookie is not None:
        head += f"Cookie: {cookie}\r\n"
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    if match is None:
        raise BenchmarkError(f"unparseable response: {response[:200]!r}")
    raw_head, _, payload = response.partition(b"\r\n\r\n")
    headers = []
    for line in raw_head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return int(match.group(1)), headers, payload


def http_request(port: int, row: Row, timeout: float = 2.0) -> tuple[int, bytes]:
    status, _, payload = http_response(port, row, timeout)
    return status, payload


def wait_until_ready(server: Server) -> None:
    """Wait until the server answers HTTP at all (any status: session apps 404 on ``/``)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkError(
                f"{server.name} exited with code {server.process.returncode} on startup:\n"
                f"{server.log_tail()}"
            )
        try:
            http_request(server.port, ROWS["hello"], timeout=0.5)
            return
        except (OSError, BenchmarkError):
            time.sleep(0.1)
    raise BenchmarkError(f"{server.name} did not answer within {START_TIMEOUT:.0f} s")


def _check_session(server: Server, row: Row) -> None:
    """A new session counts 1, and the cookie it sets brings back the same session (2)."""
    cookie: str | None = None
    for expected in (1, 2):
        status, headers, payload = http_response(server.port, row, cookie=cookie)
        try:
            visits = json.loads(payload)["visits"]
        except (ValueError, KeyError, TypeError):
            visits = None
        if status != 200 or visits != expected:
            raise BenchmarkError(
                f"{server.name} answers {row.label} wrongly (expected visits={expected}): "
                f"{status} {payload[:200]!r}"
            )
        set_cookies = [value for name, value in headers if name == "set-cookie"]
        if set_cookies:
            cookie = set_cookies[-1].split(";", 1)[0]
        elif cookie is None:
            raise BenchmarkError(f"{server.name} sets no session cookie on {row.label}")


def check_answers(server: Server, rows: Sequence[Row]) -> None:
    for row in rows:
        if row.session:
            _check_session(server, row)
            continue
        status, payload = http_request(server.port, row)
        if status != 200 or row.expect not in payload:
            raise BenchmarkError(
                f"{server.name} answers {row.label} wrongly: {status} {payload[:200]!r}"
            )


# -- Redis -------------------------------------------------------------------------------


def redis_client() -> Any:
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)


def redis_server() -> tuple[str, int | None] | None:
    """The version of the Redis server the Redis rows use and its pid when it runs on this
    machine, or None when it does not answer."""
    try:
        client = redis_client()
        try:
            info = client.info("server")
        finally:
            client.close()
    except Exception:
        return None
    pid: int | None = int(info.get("process_id", 0)) or None
    try:
        if not Path(f"/proc/{pid}/comm").read_text().startswith("redis"):
            pid = None
    except OSError:
        pid = None
    return str(info["redis_version"]), pid


def redis_version() -> str | None:
    found = redis_server()
    return found[0] if found else None


def clean_redis() -> int:
    """Delete the keys the benchmark's servers wrote (only keys under ``REDIS_PREFIXES``)."""
    client = redis_client()
    deleted = 0
    try:
        for prefix in REDIS_PREFIXES:
            batch: list[bytes] = []
            for key in client.scan_iter(match=prefix + "*", count=1000):
                if key.startswith(prefix.encode()):
                    batch.append(key)
                if len(batch) >= 1000:
                    deleted += client.delete(*batch)
                    batch.clear()
            if batch:
                deleted += client.delete(*batch)
    finally:
        client.close()
    return deleted


# -- wrk ---------------------------------------------------------------------------------


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", re.MULTILINE)


# Sends back the session cookie. wrk's Lua state belongs to a thread, not to a connection, so
# session rows run one thread per connection (``-t`` = ``-c``): the first response of each
# connection sets its cookie, and every later request on it is a round trip on that session.
# The cookie is replaced whenever a response sets a new value (Starlette's cookie sessions
# carry the data, so their value changes on every response); the request text is rebuilt only
# then.
SESSION_LUA = """\
local cookie = nil
local request_text = nil

function request()
  if request_text == nil then
    request_text = wrk.format()
  end
  return request_text
end

function response(status, headers, body)
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      local pair = string.match(value, "^[^;]+")
      if pair ~= cookie then
        cookie = pair
        wrk.headers["Cookie"] = cookie
        request_text = wrk.format()
      end
    end
  end
end
"""


# SQL: the session-postgres and session-sqlite servers keep their sessions in the database
# and file of benchmarks/apps/sql_bench.py, each in tables of its own, dropped before and after
# a run (nothing else is ever touched).
SQL_ROWS = ("session-postgres", "session-sqlite")


def _sql_bench() -> Any:
    """benchmarks/apps/sql_bench.py (the servers import it as a package module)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.apps import sql_bench

    return sql_bench


def sql_unavailable(row: str) -> str | None:
    """Why `row` cannot run here (a client missing, no PostgreSQL answering), or None."""
    try:
        import django  # noqa: F401
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (make bench-deps)"
    if row == "session-postgres":
        url = _sql_bench().POSTGRES_URL
        try:
            psycopg.connect(url, connect_timeout=2).close()
        except psycopg.Error as err:
            return f"PostgreSQL does not answer at {url}: {err}"
    return None


def clean_sql(rows: Sequence[str]) -> None:
    """Drop the benchmark's session tables (and remove its SQLite file)."""
    sql = _sql_bench()
    if "session-postgres" in rows:
        import psycopg

        with psycopg.connect(sql.POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                f"DROP TABLE IF EXISTS {sql.MICROWEB_TABLE}, {sql.MICROWEB_TABLE}_users, "
                f"{sql.BARE_TABLE}"
            )
            conn.execute(f"DROP SCHEMA IF EXISTS {sql.DJANGO_SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {sql.DJANGO_SCHEMA}")
    if "session-sqlite" in rows:
        for suffix in ("", "-wal", "-shm"):
            Path(sql.SQLITE_FILE + suffix).unlink(missing_ok=True)


def postgres_pids() -> list[int]:
    """The processes of the local PostgreSQL server (its backends serve the SQL rows)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def write_lua_scripts(rows: Sequence[Row], directory: Path) -> dict[str, Path]:
    scripts: dict[str, Path] = {}
    for row in rows:
        if row.session:
            lua = f'wrk.method = "{row.method}"\n' + SESSION_LUA
        elif row.method == "GET" and row.body is None and not row.headers:
            continue
        else:
            lua = f'wrk.method = "{row.method}"\n'
            for name, value in row.headers:
                lua += f'wrk.headers["{name}"] = "{value}"\n'
            if row.body is not None:
                lua += 'wrk.headers["Content-Type"] = "application/json"\n'
                lua += f"wrk.body = [=[{row.body}]=]\n"
        path = directory / f"{row.name}.lua"
        path.write_text(lua)
        scripts[row.name] = path
    return scripts


_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_cpu_seconds() -> float | None:
    """CPU seconds all CPUs have spent busy since boot (user, nice, system, irq, softirq)."""
    try:
        with open("/proc/stat") as file:
            fields = file.readline().split()
        return sum(int(fields[i]) for i in (1, 2, 3, 6, 7)) / _HZ
    except (OSError, ValueError, IndexError):
        return None


def _process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _HZ
    except (OSError, ValueError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux; elsewhere `pid` alone)."""
    found = [pid]
    for parent in found:
        try:
            for task in Path(f"/proc/{parent}/task").iterdir():
                found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuWatch:
    """How much CPU processes other than the ones under test use while wrk runs.

    The machine's busy time (``/proc/stat``) minus the server's and the given processes'
    (``/proc/<pid>/stat``) minus wrk's (this process's finished children): what the rest of
    the machine took, divided by the wall time. Linux only; elsewhere it measures nothing."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.start_machine = _machine_cpu_seconds()
        self.start_processes = [_process_cpu_seconds(pid) for pid in self.pids]
        self.start_children = _children_cpu_seconds()
        self.start_wall = time.monotonic()

    def others_cpu(self) -> float | None:
        machine = _machine_cpu_seconds()
        processes = [_process_cpu_seconds(pid) for pid in self.pids]
        wall = time.monotonic() - self.start_wall
        if machine is None or self.start_machine is None or wall <= 0:
            return None
        ours = _children_cpu_seconds() - self.start_children
        for before, after in zip(self.start_processes, processes, strict=True):
            if before is None or after is None:
                return None
            ours += after - before
        return max(0.0, (machine - self.start_machine - ours) / wall)


def run_wrk(
    prefix: Sequence[str],
    port: int,
    row: Row,
    script: Path | None,
    connections: int,
    duration: float,
    watch_pids: Sequence[int] = (),
) -> WrkResult:
    """Load ``row`` for ``duration`` s. ``watch_pids`` (the server, redis-server) are the
    processes under test: CPU used by anything else meanwhile is reported as ``others_cpu``."""
    threads = connections if row.session else 1
    command = [
        *prefix,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{port}{row.path}")
    watch = CpuWatch(watch_pids) if watch_pids else None
    # wrk stops itself after ``duration``; the timeout only guards against a hung wrk.
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    others_cpu = watch.others_cpu() if watch is not None else None
    output = completed.stdout
    rps = _RPS.search(output)
    if completed.returncode != 0 or rps is None:
        raise BenchmarkError(
            f"wrk failed on {row.label} (exit {completed.returncode}):\n"
            f"{output}\n{completed.stderr}"
        )
    non_2xx = _NON_2XX.search(output)
    socket_errors = _SOCKET_ERRORS.search(output)
    percentiles = dict(_PERCENTILE.findall(output))
    total = _TOTAL.search(output)
    return WrkResult(
        requests_per_sec=float(rps.group(1)),
        total_requests=int(total.group(1)) if total else 0,
        latency_p50=percentiles.get("50", "?"),
        latency_p99=percentiles.get("99", "?"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        error_detail=socket_errors.group(0) if socket_errors else "",
        others_cpu=others_cpu,
    )


def wait_for_quiet(limit: float, seconds: float) -> float:
    """Wait (at most ``seconds``) until the machine's busy CPU over 0.5 s is below ``limit``
    CPUs (the idle servers cost almost nothing); return the time waited."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        before = _machine_cpu_seconds()
        time.sleep(0.5)
        after = _machine_cpu_seconds()
        if before is None or after is None or (after - before) / 0.5 < limit:
            break
    return time.monotonic() - started


# -- the run -----------------------------------------------------------------------------


def _csv(value: str, known: dict[str, object], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(f"unknown {what}: {', '.join(unknown) or value!r}; known: {list(known)}")
    return [name for name in known if name in names]


def _servers(value: str) -> list[str]:
    """Server names, or framework names standing for all their servers (``microweb``)."""
    frameworks = {framework_of(name) for name in SERVERS}
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVERS and name not in frameworks]
    if unknown or not names:
        raise SystemExit(
            f"unknown servers: {', '.join(unknown) or value!r}; known: {list(SERVERS)} "
            f"(or a framework: {sorted(frameworks)})"
        )
    return [name for name in SERVERS if name in names or framework_of(name) in names]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--duration", type=float, default=DEFAULT_DURATION, help="seconds per measurement"
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="interleaved rounds")
    parser.add_argument(
        "--connections", type=int, default=DEFAULT_CONNECTIONS, help="wrk connections"
    )
    parser.add_argument("--only", default=",".join(ROWS), help=f"rows, from {list(ROWS)}")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"servers (or frameworks, for all their servers), from {list(SERVERS)}",
    )
    parser.add_argument(
        "--no-compiled",
        action="store_true",
        help=f"leave out the compiled build's servers ({COMPILED}, {COMPILED}-memory, ...)",
    )
    parser.add_argument(
        "--compiled-venv",
        type=Path,
        default=COMPILED_VENV,
        help="the venv with the compiled wheel installed, that the compiled servers run in "
        f"(default: {COMPILED_VENV.relative_to(REPO_ROOT)}, made by `make compiled-venv`)",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin server and wrk to separate CPUs"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="write the results (table, machine, versions, footprint) to this Markdown file; "
        f"a full run writes {DEFAULT_RESULTS.relative_to(REPO_ROOT)} unless --no-results",
    )
    parser.add_argument("--no-results", action="store_true", help="write no results file")
    args = parser.parse_args(argv)
    args.rows = [ROWS[name] for name in _csv(args.only, dict(ROWS), "row")]
    row_names = {row.name for row in args.rows}
    args.server_names = [
        name
        for name in _servers(args.servers)
        if row_names.intersection(SERVES[name])
        and not (args.no_compiled and framework_of(name) == COMPILED)
    ]
    if not args.server_names:
        parser.error("no selected server serves the selected rows")
    if args.rounds < 1 or args.duration < 1 or args.connections < 1:
        parser.error("--rounds, --duration and --connections must be >= 1")
    # Every row on every server (the compiled build's may be left out).
    full_run = len(args.rows) == len(ROWS) and set(args.server_names) >= {
        name for name in SERVERS if framework_of(name) != COMPILED
    }
    if args.no_results:
        args.results = None
    elif args.results is None and full_run:
        args.results = DEFAULT_RESULTS
    return args


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def _spread(runs: Sequence[WrkResult]) -> str:
    """(max - min) / median over rounds: how much to trust the median."""
    if len(runs) < 2:
        return "-"
    values = [r.requests_per_sec for r in runs]
    return f"{(max(values) - min(values)) / statistics.median(values):.0%}"


def _others(runs: Sequence[WrkResult]) -> str:
    """The most CPU other processes took during one of the rounds, in % of one CPU."""
    values = [r.others_cpu for r in runs if r.others_cpu is not None]
    return f"{max(values):.0%}" if values else "-"


def noisy_cells(servers: Sequence[Server], limit: float = 0.15) -> list[str]:
    noisy: list[str] = []
    for server in servers:
        for row, runs in server.results.items():
            values = [r.requests_per_sec for r in runs]
            if len(values) > 1 and (max(values) - min(values)) / statistics.median(values) > limit:
                noisy.append(f"{server.name}/{row}")
    return noisy


def _median(server: Server, row: str) -> float | None:
    runs = server.results.get(row)
    return statistics.median(r.requests_per_sec for r in runs) if runs else None


def _in_row(servers: Sequence[Server], row: Row, framework: str) -> Server | None:
    for server in servers:
        if server.framework == framework and row.name in server.rows:
            return server
    return None


def _base_in_row(servers: Sequence[Server], row: Row) -> Server | None:
    """The row's baseline: its bare ASGI app, else its Starlette server."""
    for framework in BASELINES:
        server = _in_row(servers, row, framework)
        if server is not None:
            return server
    return None


def render_table(servers: Sequence[Server], rows: Sequence[Row]) -> str:
    """One line per server and row. `vs base`: req/s / the row's baseline's; `microweb vs
    this` (and `compiled vs this`, when the compiled build ran): its req/s / this server's."""
    subjects = [SUBJECT] + ([COMPILED] if any(s.framework == COMPILED for s in servers) else [])
    lines = [
        "| row | server | req/s (median) | vs base "
        + "".join(f"| {subject} vs this " for subject in subjects)
        + "| spread | others' CPU | p50 / p99 latency | errors |",
        "|---|---|---:|---:|" + "---:|" * len(subjects) + "---:|---:|---|---:|",
    ]
    for row in rows:
        base_server = _base_in_row(servers, row)
        base = _median(base_server, row.name) if base_server else None
        subject_servers = [_in_row(servers, row, subject) for subject in subjects]
        for server in servers:
            if row.name not in server.rows:
                continue
            runs = server.results.get(row.name, [])
            rps = _median(server, row.name)
            middle = (
                sorted(runs, key=lambda r: r.requests_per_sec)[len(runs) // 2] if runs else None
            )
            errors = sum(r.non_2xx + r.socket_errors for r in runs)
            versus = "".join(
                f"| {'-' if server is other else _ratio(_median(other, row.name), rps)} "
                if other is not None
                else "| - "
                for other in subject_servers
            )
            lines.append(
                f"| {row.label} | {server.name} | {f'{rps:,.0f}' if rps else 'n/a'} "
                f"| {_ratio(rps, base)}{' (base)' if server is base_server else ''} "
                f"{versus}"
                f"| {_spread(runs)} | {_others(runs)} "
                f"| {f'{middle.latency_p50} / {middle.latency_p99}' if middle else '-'} "
                f"| {errors}{' !!' if errors else ''} |"
            )
    return "\n".join(lines)


def render_builds(servers: Sequence[Server], rows: Sequence[Row]) -> str:
    """microweb's two builds side by side, a line per row both served: req/s, each one's
    ratio to the row's baseline, and compiled / pure. Empty when the compiled build did not
    run."""
    lines = [
        f"| row | base | {SUBJECT} req/s | {SUBJECT} vs base | {COMPILED} req/s "
        f"| {COMPILED} vs base | {COMPILED} / {SUBJECT} |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        pure_server = _in_row(servers, row, SUBJECT)
        compiled_server = _in_row(servers, row, COMPILED)
        if pure_server is None or compiled_server is None:
            continue
        base_server = _base_in_row(servers, row)
        base = _median(base_server, row.name) if base_server else None
        pure = _median(pure_server, row.name)
        compiled = _median(compiled_server, row.name)
        lines.append(
            f"| {row.label} | {base_server.name if base_server else '-'} "
            f"| {f'{pure:,.0f}' if pure else 'n/a'} | {_ratio(pure, base)} "
            f"| {f'{compiled:,.0f}' if compiled else 'n/a'} | {_ratio(compiled, base)} "
            f"| {_ratio(compiled, pure)} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def target_verdicts(servers: Sequence[Server], rows: Sequence[Row]) -> list[str]:
    """microweb's targets, checked for each build that ran (pure, then compiled)."""
    verdicts: list[str] = []
    for subject in (SUBJECT, COMPILED):
        for row in rows:
            subject_server = _in_row(servers, row, subject)
            for framework, minimum in TARGETS.get(row.name, {}).items():
                peer_server = _in_row(servers, row, framework)
                if subject_server is None or peer_server is None:
                    continue
                mine = _median(subject_server, row.name)
                other = _median(peer_server, row.name)
                if mine is None or other is None:
                    continue
                ratio = mine / other
                verdict = "ok  " if ratio >= minimum else "MISS"
                verdicts.append(
                    f"{verdict} {row.label}: {subject_server.name} / {peer_server.name} "
                    f"= {ratio:.2f} (target >= {minimum})"
                )
    return verdicts


# -- RESULTS.md --------------------------------------------------------------------------

WHERE_HEADING = "## Where the time goes"
INSTRUCTIONS_HEADING = "## Instructions per request"  # benchmarks/instructions.py's section
WHERE_PLACEHOLDER = (
    "_Placeholder: filled in by hand from `benchmarks/profile_server.py` runs. "
    "`benchmarks/throughput.py` keeps this section when it rewrites the file._"
)
VERSIONED = (
    "uvicorn",
    "uvloop",
    "httptools",
    "granian",
    "starlette",
    "litestar",
    "blacksheep",
    "fastapi",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _microweb_version() -> str:
    try:
        version = importlib.metadata.version("microweb")
    except importlib.metadata.PackageNotFoundError:
        import tomllib

        with (REPO_ROOT / "pyproject.toml").open("rb") as file:
            version = tomllib.load(file)["project"]["version"] + " (not installed, source tree)"
    git = shutil.which("git")
    if git is not None:
        commit = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            [git, "status", "--porcelain", "--", "microweb"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if commit:
            version += f", git {commit}{' + uncommitted changes in microweb/' if dirty else ''}"
    return version


def _short(path: str | Path) -> str:
    """`path` relative to the repository when it is inside it."""
    with suppress(ValueError):
        return str(Path(path).relative_to(REPO_ROOT))
    return str(path)


def _compiled_line(compiled: dict[str, Any] | None) -> str:
    if compiled is None:
        return f"- microweb ({COMPILED}): not measured"
    package = Path(compiled["file"]).parent
    seen = compiled.get("seen_in", [])
    return (
        f"- microweb ({COMPILED}): the mypyc-compiled wheel (mypy {_version('mypy')}) of the "
        f"same source, installed in {_short(Path(compiled['executable']).parent.parent)} "
        f"({_short(package)}); `microweb.compiled` is True there"
        + (
            f", and the processes of {', '.join(seen)} were seen to map its C extensions"
            if seen
            else " (the servers' own processes could not be inspected here)"
        )
    )


def environment(
    redis_version_text: str | None, compiled: dict[str, Any] | None = None
) -> list[str]:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout + wrk.stderr).split("Copyright")[0].strip() or "?"
    cpus = len(os.sched_getaffinity(0))
    packages = ", ".join(f"{name} {_version(name)}" for name in VERSIONED)
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores ({cpus} usable by this run)",
        f"- Kernel: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- microweb: {_microweb_version()}",
        _compiled_line(compiled),
        f"- Peers and server: {packages}, redis-py {_version('redis')}",
        f"- redis-server: {redis_version_text or 'not reachable'}; load generator: {wrk_version}",
    ]


def run_footprint() -> dict[str, Any] | None:
    """Run ``benchmarks/footprint.py --json`` in a fresh interpreter; None when it fails."""
    completed = subprocess.run(
        [sys.executable, str(_HERE / "footprint.py"), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(
            f"warning: benchmarks/footprint.py failed (exit {completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}",
            file=sys.stderr,
        )
        return None
    return result


def footprint_lines(footprint: dict[str, Any] | None) -> list[str]:
    if footprint is None:
        return ["- footprint: benchmarks/footprint.py failed, see the run's output"]
    imp, mem = footprint["import"], footprint["session_memory"]
    return [
        f"- `import microweb`: **{imp['import_ms']:.1f} ms** (median of {imp['runs']} fresh "
        f'`python -c "import microweb"` minus the median of as many `python -c "pass"`, '
        f"which take {imp['interpreter_ms']:.1f} ms)",
        f"- Memory per idle session, memory driver: **{mem['bytes_per_session']:,.0f} bytes** "
        f"({mem['sessions']:,} sessions created through the session middleware with "
        f"`await app.request(...)`, one counter each; {mem['total_mib']:.1f} MiB in all, "
        "tracemalloc)",
    ]


def _kept_section(path: Path, heading: str) -> str:
    """The body of the section under `heading` in the existing file, or ""."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1).strip() if match else ""


def _kept_where_section(path: Path) -> str:
    """The body of an existing, filled-in "Where the time goes" section, else the placeholder."""
    return _kept_section(path, WHERE_HEADING) or WHERE_PLACEHOLDER


def _kept_instructions_section(path: Path) -> list[str]:
    """The instruction counts (benchmarks/instructions.py writes them), kept as they are."""
    body = _kept_section(path, INSTRUCTIONS_HEADING)
    return [INSTRUCTIONS_HEADING, "", body, ""] if body else []


def write_results(
    path: Path,
    args: argparse.Namespace,
    pinned: bool,
    table: str,
    builds: str,
    compiled: dict[str, Any] | None,
    verdicts: Sequence[str],
    footprint: dict[str, Any] | None,
    redis_version_text: str | None,
    started: datetime.datetime,
    warnings: Sequence[str],
) -> None:
    command = (
        f"benchmarks/throughput.py --duration {args.duration:g} --rounds {args.rounds} "
        f"--connections {args.connections}"
    )
    defaults = (args.duration, args.rounds, args.connections) == (
        DEFAULT_DURATION,
        DEFAULT_ROUNDS,
        DEFAULT_CONNECTIONS,
    )
    lines = [
        "# microweb benchmark results",
        "",
        WHERE_HEADING,
        "",
        _kept_where_section(path),
        "",
        *_kept_instructions_section(path),
        "## Throughput",
        "",
        f"`{command}`{' (what `make bench` runs)' if defaults else ''}, "
        f"{started:%Y-%m-%d %H:%M} UTC. Each server: "
        "uvicorn, 1 worker, uvloop + httptools, no access log, on 127.0.0.1 (the granian "
        "rows: granian --interface asgi, 1 worker, uvloop)"
        f"{'; server and wrk pinned to separate CPUs' if pinned else ''}. "
        f"wrk with {args.connections} connections for {args.duration:g} s per cell, "
        f"{args.rounds} interleaved round{'s' if args.rounds > 1 else ''}, median shown. "
        "Session rows run one wrk thread per "
        "connection, each sending back its connection's cookie, so every request after a "
        "connection's first is a round trip on an existing session; the other rows use one "
        "wrk thread.",
        "",
        f"- `{SUBJECT}` is microweb's source tree, pure Python; `{COMPILED}` (`{COMPILED}-memory`, "
        "`compiled-redis`, ...) serves the same apps from the mypyc-compiled wheel "
        "(`make compiled-venv`), under the same uvicorn or granian, run from a copy of "
        "`benchmarks/apps` without `microweb/` so that it imports the wheel.",
        "- `vs base`: this server's req/s / the row's baseline's, marked `(base)`: the bare "
        "ASGI app where the row has one (`bare` for the basic rows, `bare-memory`, "
        "`bare-redis`, `bare-postgres` and `bare-sqlite` for sessions), else Starlette's.",
        "- `microweb vs this`: microweb's req/s / this server's; above 1.00x microweb is faster. "
        "`compiled vs this`: the same for the compiled build.",
        "- `spread`: (max - min) / median over the rounds. `others' CPU`: CPU other processes "
        "took during the worst kept round (a measurement where they took over "
        f"{BUSY_LIMIT:.0%} of a CPU is taken again, within {RETRY_BUDGET_SECONDS:.0f} s per run).",
        "- `session, in process`: `microweb-memory` (memory driver), `litestar-memory` "
        "(server-side sessions, `MemoryStore`), `starlette-cookie` (Starlette's "
        "`SessionMiddleware`: the data in a signed cookie), `bare-memory` (hand-written "
        "ASGI, sessions in a dict: the floor).",
        "- `session, Redis`: `microweb-redis` (Redis driver), `litestar-redis` (server-side "
        "sessions, `RedisStore`), `bare-redis` (hand-written ASGI, one GET and one SET a "
        "request).",
        "- `session, PostgreSQL` and `session, SQLite`: `microweb-postgres` / "
        "`microweb-sqlite` (the SQL drivers), `django-postgres` / `django-sqlite` (Django "
        "5 under the same uvicorn: `SessionMiddleware` with "
        "`django.contrib.sessions.backends.db`, a view counting visits; PostgreSQL through "
        "psycopg 3 and Django's pool), `bare-postgres` / `bare-sqlite` (hand-written ASGI on "
        "the same client library, one SELECT and one UPSERT a request; SQLite's on the event "
        "loop, without a thread). Same database and file for all three; ordinary saves "
        "commit alike everywhere (PostgreSQL `synchronous_commit = off`, SQLite WAL with "
        "`synchronous = NORMAL`), so the rows compare software, not disks.",
        "",
        table,
        "",
        *(
            [
                "microweb's two builds, side by side (`compiled / microweb` above 1.00x: the "
                "compiled build is faster):",
                "",
                builds,
                "",
            ]
            if builds
            else []
        ),
        "Targets:",
        "",
        "```",
        *verdicts,
        "```",
        "",
    ]
    if warnings:
        lines += ["Warnings:", "", *[f"- {w}" for w in warnings], ""]
    lines += [
        "## Footprint",
        "",
        *footprint_lines(footprint),
        "",
        "## Machine and versions",
        "",
        *environment(redis_version_text, compiled),
        "",
    ]
    path.write_text("\n".join(lines))


# -- the run -----------------------------------------------------------------------------


def _cells(server_names: Sequence[str], rows: Sequence[Row]) -> int:
    return sum(1 for name in server_names for row in rows if row.name in SERVES[name])


def benchmark(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print(
            "error: wrk is not installed. Run `make bench-deps`, or "
            "`sudo apt-get install -y wrk` (Debian/Ubuntu) / `brew install wrk` (macOS).",
            file=sys.stderr,
        )
        return 2
    # The servers' logs, Lua scripts and the compiled servers' copy of the apps.
    with tempfile.TemporaryDirectory(prefix="microweb-bench-") as tmp:
        return _benchmark(args, Path(tmp))


def _benchmark(args: argparse.Namespace, tmp: Path) -> int:
    started = datetime.datetime.now(datetime.UTC)
    rows: list[Row] = args.rows
    server_names: list[str] = list(args.server_names)
    warnings: list[str] = []
    compiled: dict[str, Any] | None = None
    compiled_names = [name for name in server_names if framework_of(name) == COMPILED]
    if compiled_names:
        compiled, why_not = check_compiled(args.compiled_venv, tmp)
        if compiled is None:
            message = f"{why_not}: skipping {', '.join(compiled_names)}"
            print(f"warning: {message}", file=sys.stderr)
            warnings.append(message)
            server_names = [name for name in server_names if name not in compiled_names]
        else:
            print(
                f"# {COMPILED}: microweb.compiled is True for {compiled['executable']} "
                f"run from the copy of the apps; microweb from {Path(compiled['file']).parent}",
                flush=True,
            )
    redis_names = [name for name in server_names if "session-redis" in SERVES[name]]
    found = redis_server()
    redis_version_text, redis_pid = found if found else (None, None)
    if redis_names and found is None:
        message = (
            f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT}: skipping {', '.join(redis_names)}"
        )
        print(f"warning: {message}", file=sys.stderr)
        warnings.append(message)
        server_names = [name for name in server_names if name not in redis_names]
        redis_names = []
    sql_rows = [row.name for row in rows if row.name in SQL_ROWS]
    for row_name in list(sql_rows):
        reason = sql_unavailable(row_name)
        if reason is None:
            continue
        names = [name for name in server_names if row_name in SERVES[name]]
        message = f"{reason}: skipping {', '.join(names)}"
        print(f"warning: {message}", file=sys.stderr)
        warnings.append(message)
        server_names = [name for name in server_names if name not in names]
        sql_rows.remove(row_name)
    sql_rows = [r for r in sql_rows if any(r in SERVES[name] for name in server_names)]
    if not server_names:
        print("error: none of the selected servers can run here (see above)", file=sys.stderr)
        return 1
    server_prefix, wrk_prefix = _cpu_pinning(not args.no_pin)
    footprint: dict[str, Any] | None = None
    if args.results is not None:
        print("# footprint (benchmarks/footprint.py): import time, memory per session ...")
        footprint = run_footprint()
        print("\n".join(footprint_lines(footprint)), flush=True)
    served = [[row for row in rows if row.name in SERVES[name]] for name in server_names]
    cells = _cells(server_names, rows)
    warmup = sum(len(r) * (WARMUP_SECONDS + 0.3) for r in served)
    estimate = warmup + args.rounds * cells * (args.duration + 0.3)
    print(
        f"# {len(server_names)} servers, {len(rows)} rows, {cells} cells x {args.rounds} "
        f"rounds, {args.duration:g} s each, {args.connections} connections"
        f"{', server and wrk pinned to separate CPUs' if server_prefix else ''}; "
        f"about {estimate / 60:.1f} min (+ up to {RETRY_BUDGET_SECONDS:.0f} s of re-runs if "
        "other processes take the CPUs)",
        flush=True,
    )
    try:
        if redis_names:
            clean_redis()
        if sql_rows:
            clean_sql(sql_rows)
        with running_servers(server_names, server_prefix, tmp, args.compiled_venv) as servers:
            scripts = write_lua_scripts(rows, tmp)
            for server, server_rows in zip(servers, served, strict=True):
                wait_until_ready(server)
                check_answers(server, server_rows)
                # The app is loaded now: which microweb does the server's process hold?
                build = verify_build(server)
                if build is not None and server.framework == COMPILED and compiled is not None:
                    print(f"# {server.name}: its process maps {_short(build)}", flush=True)
                    compiled.setdefault("seen_in", []).append(server.name)
                # Warm-up: every row once; results are discarded.
                for row in server_rows:
                    run_wrk(
                        wrk_prefix,
                        server.port,
                        row,
                        scripts.get(row.name),
                        args.connections,
                        WARMUP_SECONDS,
                    )
            budget = RETRY_BUDGET_SECONDS
            for round_number in range(1, args.rounds + 1):
                for row in rows:
                    for server in servers:
                        if row.name not in server.rows:
                            continue
                        if server.process.poll() is not None:
                            raise BenchmarkError(f"{server.name} died:\n{server.log_tail()}")
                        # granian serves from a worker process of its own: watch it too.
                        watch = process_tree(server.process.pid)
                        if row.name == "session-redis" and redis_pid is not None:
                            watch.append(redis_pid)
                        if row.name == "session-postgres":
                            watch += postgres_pids()
                        measure = functools.partial(
                            run_wrk,
                            wrk_prefix,
                            server.port,
                            row,
                            scripts.get(row.name),
                            args.connections,
                            args.duration,
                            watch,
                        )
                        result = measure()
                        # Something else took the CPUs meanwhile: wait for a quiet moment and
                        # measure again (twice at most, within the time budget of the run);
                        # keep the least disturbed measurement.
                        retries = 0
                        while (
                            (result.others_cpu or 0.0) > BUSY_LIMIT
                            and retries < 2
                            and budget > args.duration
                        ):
                            print(
                                f"  busy machine: other processes used "
                                f"{result.others_cpu:.0%} of a CPU during {server.name} "
                                f"{row.label}; measuring again",
                                flush=True,
                            )
                            budget -= wait_for_quiet(BUSY_LIMIT / 2, min(10.0, budget / 2))
                            retries += 1
                            started_retry = time.monotonic()
                            again = measure()
                            budget -= time.monotonic() - started_retry
                            if (again.others_cpu or 0.0) < (result.others_cpu or 0.0):
                                result = again
                        server.results.setdefault(row.name, []).append(result)
                        flag = ""
                        if result.non_2xx or result.socket_errors:
                            flag = (
                                f"  !! ERRORS: {result.non_2xx} non-2xx, "
                                f"{result.socket_errors} socket ({result.error_detail})"
                            )
                        others = (
                            f"  (others: {result.others_cpu:.0%} CPU)"
                            if result.others_cpu is not None
                            else ""
                        )
                        print(
                            f"round {round_number}/{args.rounds}  {row.label:<22} "
                            f"{server.name:<16} {result.requests_per_sec:>10,.0f} req/s"
                            f"{others}{flag}",
                            flush=True,
                        )
    finally:
        if redis_names:
            with suppress(Exception):
                print(f"# deleted {clean_redis()} benchmark keys from Redis", flush=True)
        if sql_rows:
            with suppress(Exception):
                clean_sql(sql_rows)
                print("# dropped the benchmark's session tables", flush=True)
    table = render_table(servers, rows)
    builds = render_builds(servers, rows)
    verdicts = target_verdicts(servers, rows)
    print()
    print(table)
    print()
    if builds:
        print(builds)
        print()
    for line in verdicts:
        print(line)
    disturbed = [
        f"{server.name}/{row}"
        for server in servers
        for row, runs in server.results.items()
        if any((r.others_cpu or 0.0) > BUSY_LIMIT for r in runs)
    ]
    if disturbed:
        message = (
            f"other processes used more than {BUSY_LIMIT:.0%} of a CPU during some rounds of "
            f"{', '.join(disturbed)} even after re-runs (see the others' CPU column)."
        )
        print(f"\nwarning: {message}", file=sys.stderr)
        warnings.append(message)
    noisy = noisy_cells(servers)
    if noisy:
        message = (
            f"rounds disagree by more than 15% for {', '.join(noisy)}; the machine was busy "
            "or throttled. Close other work and rerun (or raise --rounds)."
        )
        print(f"\nwarning: {message}", file=sys.stderr)
        warnings.append(message)
    total_errors = sum(
        r.non_2xx + r.socket_errors
        for server in servers
        for runs in server.results.values()
        for r in runs
    )
    if total_errors:
        print(
            f"\n!!!!! {total_errors} non-2xx responses / socket errors during the run: "
            "the numbers above are NOT valid. !!!!!",
            file=sys.stderr,
        )
        if args.results is not None:
            print(f"{args.results} left as it was.", file=sys.stderr)
        return 1
    if args.results is not None:
        write_results(
            args.results,
            args,
            bool(server_prefix),
            table,
            builds,
            compiled,
            verdicts,
            footprint,
            redis_version_text,
            started,
            warnings,
        )
        print(f"\nwrote {args.results}")
    elapsed = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    print(f"# done in {elapsed / 60:.1f} min")
    return 0


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGINT (even when inherited as ignored) and SIGTERM unwind like Ctrl-C, so the
    # ``finally`` blocks stop every server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return benchmark(args)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
