"""HTTP throughput of microweb against a bare ASGI app and its peers, measured with wrk.

Usage (from the repository root)::

    .venv/bin/python benchmarks/http.py [--duration 10] [--rounds 3] [--connections 64]
                                        [--only hello,json] [--servers bare,microweb]

Each server runs under the same uvicorn (1 worker, uvloop, httptools, no access log) on
127.0.0.1. Its answers are checked, it is warmed up, then wrk loads it for ``--duration``
seconds per row. Rounds are interleaved (round 1: every server, round 2: every server, ...)
so that drift in the machine hits all servers alike; the table shows the median over rounds.

To add a peer: write ``benchmarks/apps/<name>.py`` exposing an ASGI ``app`` that serves the
three endpoints, and add one line to ``SERVERS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# perf-irrelevant but vital: this file is named ``http.py`` and Python puts its folder first
# on sys.path, where it would shadow the standard library's ``http`` package for anything
# imported later. Drop that entry before importing anything else.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    del sys.path[0]

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from contextlib import contextmanager, suppress  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from types import FrameType  # noqa: E402

REPO_ROOT = _HERE.parent
BASELINE = "bare"
SUBJECT = "microweb"

# name -> module:attribute of the ASGI app. Order is the order within a round.
SERVERS: dict[str, str] = {
    "bare": "benchmarks.apps.bare:app",
    "starlette": "benchmarks.apps.starlette_app:app",
    "microweb": "benchmarks.apps.microweb_app:app",
}

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


ROWS: dict[str, Row] = {
    "hello": Row("hello", "GET /", "GET", "/", None, b"Hello, World!"),
    "json": Row("json", "GET /users/:id", "GET", "/users/42", None, b'"name":"user"'),
    "echo": Row("echo", "POST /echo", "POST", "/echo", ECHO_BODY, b'"tags":["a","b","c"]'),
}

# Targets microweb must hit (row -> minimum ratio against the peer); only reported.
TARGETS: dict[str, dict[str, float]] = {
    "hello": {"bare": 0.90, "starlette": 1.35},
    "json": {"bare": 0.90, "starlette": 1.35},
}

WARMUP_SECONDS = 2.0
START_TIMEOUT = 20.0


@dataclass
class WrkResult:
    requests_per_sec: float
    total_requests: int
    latency_p50: str
    latency_p99: str
    non_2xx: int
    socket_errors: int
    error_detail: str


@dataclass
class Server:
    name: str
    target: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    results: dict[str, list[WrkResult]] = field(default_factory=dict)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class BenchmarkError(Exception):
    """A setup problem that makes the numbers meaningless."""


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


def start_server(name: str, target: str, prefix: Sequence[str], log_dir: Path) -> Server:
    port = _free_port()
    log_path = log_dir / f"{name}.log"
    command = [
        *prefix,
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        # A new session: Ctrl-C in the terminal reaches only us, and we stop the server
        # (and anything it spawned) through its own process group.
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
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
    names: Sequence[str], prefix: Sequence[str], log_dir: Path
) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for name in names:
            servers.append(start_server(name, SERVERS[name], prefix, log_dir))
        yield servers
    finally:
        for server in servers:
            stop_server(server)


# -- checking answers --------------------------------------------------------------------


def http_request(port: int, row: Row, timeout: float = 2.0) -> tuple[int, bytes]:
    """One HTTP/1.1 request over a raw socket (no stdlib ``http``: see the top of the file)."""
    body = (row.body or "").encode()
    head = (
        f"{row.method} {row.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n"
    )
    if row.body is not None:
        head += "Content-Type: application/json\r\n"
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    if match is None:
        raise BenchmarkError(f"unparseable response: {response[:200]!r}")
    _, _, payload = response.partition(b"\r\n\r\n")
    return int(match.group(1)), payload


def wait_until_ready(server: Server) -> None:
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


def check_answers(server: Server, rows: Sequence[Row]) -> None:
    for row in rows:
        status, payload = http_request(server.port, row)
        if status != 200 or row.expect not in payload:
            raise BenchmarkError(
                f"{server.name} answers {row.label} wrongly: {status} {payload[:200]!r}"
            )


# -- wrk ---------------------------------------------------------------------------------


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", re.MULTILINE)


def write_lua_scripts(rows: Sequence[Row], directory: Path) -> dict[str, Path]:
    scripts: dict[str, Path] = {}
    for row in rows:
        if row.method == "GET" and row.body is None:
            continue
        lua = f'wrk.method = "{row.method}"\n'
        if row.body is not None:
            lua += 'wrk.headers["Content-Type"] = "application/json"\n'
            lua += f"wrk.body = [=[{row.body}]=]\n"
        path = directory / f"{row.name}.lua"
        path.write_text(lua)
        scripts[row.name] = path
    return scripts


def run_wrk(
    prefix: Sequence[str],
    port: int,
    row: Row,
    script: Path | None,
    connections: int,
    duration: float,
) -> WrkResult:
    command = [
        *prefix,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{port}{row.path}")
    # wrk stops itself after ``duration``; the timeout only guards against a hung wrk.
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
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
    )


# -- the run -----------------------------------------------------------------------------


def _csv(value: str, known: dict[str, object], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(f"unknown {what}: {', '.join(unknown) or value!r}; known: {list(known)}")
    return [name for name in known if name in names]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--only", default=",".join(ROWS), help=f"rows, from {list(ROWS)}")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help=f"servers, from {list(SERVERS)}"
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin server and wrk to separate CPUs"
    )
    args = parser.parse_args(argv)
    args.rows = [ROWS[name] for name in _csv(args.only, dict(ROWS), "row")]
    args.server_names = _csv(args.servers, dict(SERVERS), "server")
    if args.rounds < 1 or args.duration < 1 or args.connections < 1:
        parser.error("--rounds, --duration and --connections must be >= 1")
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


def noisy_cells(servers: Sequence[Server], limit: float = 0.15) -> list[str]:
    noisy: list[str] = []
    for server in servers:
        for row, runs in server.results.items():
            values = [r.requests_per_sec for r in runs]
            if len(values) > 1 and (max(values) - min(values)) / statistics.median(values) > limit:
                noisy.append(f"{server.name}/{row}")
    return noisy


def render_table(servers: Sequence[Server], rows: Sequence[Row]) -> str:
    lines = [
        f"| row | server | req/s (median) | vs {BASELINE} | {SUBJECT} vs this "
        "| spread | p50 / p99 latency | errors |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    medians: dict[tuple[str, str], float] = {}
    for server in servers:
        for row in rows:
            runs = server.results.get(row.name, [])
            if runs:
                medians[server.name, row.name] = statistics.median(r.requests_per_sec for r in runs)
    for row in rows:
        base = medians.get((BASELINE, row.name))
        subject = medians.get((SUBJECT, row.name))
        for server in servers:
            runs = server.results.get(row.name, [])
            rps = medians.get((server.name, row.name))
            middle = (
                sorted(runs, key=lambda r: r.requests_per_sec)[len(runs) // 2] if runs else None
            )
            errors = sum(r.non_2xx + r.socket_errors for r in runs)
            lines.append(
                f"| {row.label} | {server.name} | {f'{rps:,.0f}' if rps else 'n/a'} "
                f"| {_ratio(rps, base)} "
                f"| {'-' if server.name == SUBJECT else _ratio(subject, rps)} "
                f"| {_spread(runs)} "
                f"| {f'{middle.latency_p50} / {middle.latency_p99}' if middle else '-'} "
                f"| {errors}{' !!' if errors else ''} |"
            )
    return "\n".join(lines)


def target_verdicts(servers: Sequence[Server], rows: Sequence[Row]) -> list[str]:
    def median(name: str, row: str) -> float | None:
        for server in servers:
            if server.name == name and server.results.get(row):
                return statistics.median(r.requests_per_sec for r in server.results[row])
        return None

    verdicts: list[str] = []
    for row in rows:
        for peer, minimum in TARGETS.get(row.name, {}).items():
            subject, other = median(SUBJECT, row.name), median(peer, row.name)
            if subject is None or other is None:
                continue
            ratio = subject / other
            verdict = "ok  " if ratio >= minimum else "MISS"
            verdicts.append(
                f"{verdict} {row.label}: {SUBJECT} / {peer} = {ratio:.2f} (target >= {minimum})"
            )
    return verdicts


def benchmark(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print(
            "error: wrk is not installed. Run `make bench-deps`, or "
            "`sudo apt-get install -y wrk` (Debian/Ubuntu) / `brew install wrk` (macOS).",
            file=sys.stderr,
        )
        return 2
    rows: list[Row] = args.rows
    server_prefix, wrk_prefix = _cpu_pinning(not args.no_pin)
    per_run = args.duration + 0.5
    estimate = len(args.server_names) * (WARMUP_SECONDS + 1 + args.rounds * len(rows) * per_run)
    print(
        f"# {len(args.server_names)} servers x {len(rows)} rows x {args.rounds} rounds, "
        f"{args.duration:g} s each, {args.connections} connections, wrk -t1"
        f"{', server and wrk pinned to separate CPUs' if server_prefix else ''}; "
        f"about {estimate / 60:.1f} min",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="microweb-bench-") as tmp,
        running_servers(args.server_names, server_prefix, Path(tmp)) as servers,
    ):
        scripts = write_lua_scripts(rows, Path(tmp))
        for server in servers:
            wait_until_ready(server)
            check_answers(server, rows)
            # Warm-up: every row once, sharing the warm-up time; results are discarded.
            for row in rows:
                run_wrk(
                    wrk_prefix,
                    server.port,
                    row,
                    scripts.get(row.name),
                    args.connections,
                    max(1.0, WARMUP_SECONDS / len(rows)),
                )
        for round_number in range(1, args.rounds + 1):
            for row in rows:
                for server in servers:
                    if server.process.poll() is not None:
                        raise BenchmarkError(f"{server.name} died:\n{server.log_tail()}")
                    result = run_wrk(
                        wrk_prefix,
                        server.port,
                        row,
                        scripts.get(row.name),
                        args.connections,
                        args.duration,
                    )
                    server.results.setdefault(row.name, []).append(result)
                    flag = ""
                    if result.non_2xx or result.socket_errors:
                        flag = (
                            f"  !! ERRORS: {result.non_2xx} non-2xx, "
                            f"{result.socket_errors} socket ({result.error_detail})"
                        )
                    print(
                        f"round {round_number}/{args.rounds}  {row.label:<16} "
                        f"{server.name:<10} {result.requests_per_sec:>10,.0f} req/s{flag}",
                        flush=True,
                    )
        print()
        print(render_table(servers, rows))
        print()
        for line in target_verdicts(servers, rows):
            print(line)
        noisy = noisy_cells(servers)
        if noisy:
            print(
                f"\nwarning: rounds disagree by more than 15% for {', '.join(noisy)}; the machine "
                "was busy or throttled. Close other work and rerun (or raise --rounds).",
                file=sys.stderr,
            )
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
            return 1
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
