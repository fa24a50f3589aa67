"""Where a server spends its time per request, under the same load as ``benchmarks/throughput.py``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile_server.py [--server microweb] [--row hello]
        [--sampler py-spy|cprofile] [--duration 10] [--connections 64] [--top 15]
        [--match microweb/sessions]

    # a session row: the server must serve it (see SERVES in benchmarks/throughput.py)
    .venv/bin/python benchmarks/profile_server.py --server microweb-redis --row session-redis

``py-spy`` (``pip install py-spy``) samples the running uvicorn from outside and barely slows
it, so its shares are the honest ones; frames without Python code on top (uvloop's C event loop,
socket syscalls) show up as ``Runner.run``. ``cprofile`` runs the profiler inside the server and
enables it only while wrk loads it: it gives exact call counts per request, but its per-call
overhead inflates code that makes many small calls.

A ``compiled`` server (the mypyc build) takes py-spy only: compiled functions have no
Python frames, so their time is the own time of the Python frame that called them
(uvicorn's ``ProxyHeadersMiddleware.__call__`` for the app's entry).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repository root on sys.path so `benchmarks` imports.
_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from types import FrameType  # noqa: E402

from benchmarks.throughput import (  # noqa: E402
    COMPILED,
    REPO_ROOT,
    ROWS,
    SERVERS,
    SERVES,
    BenchmarkError,
    Server,
    _cpu_pinning,
    _free_port,
    check_answers,
    clean_redis,
    framework_of,
    run_wrk,
    spawn_server,
    start_server,
    stop_server,
    wait_until_ready,
    write_lua_scripts,
)

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>.+?):\d+\)$")


# -- the server side of ``--sampler cprofile`` -------------------------------------------


def serve_with_cprofile(target: str, port: int, output: str) -> None:
    """Run uvicorn in this process; SIGUSR1 starts the profiler, SIGUSR2 stops and dumps it."""
    import cProfile

    import uvicorn

    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(output)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    config = uvicorn.Config(
        target,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


def start_cprofile_server(name: str, prefix: Sequence[str], output: Path, log: Path) -> Server:
    port = _free_port()
    command = [*prefix, sys.executable, __file__, "_serve", SERVERS[name], str(port), str(output)]
    return spawn_server(name, SERVERS[name], port, command, log)


# -- reports -----------------------------------------------------------------------------


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", str(REPO_ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _area(location: str) -> str:
    if location.startswith("microweb/sessions/"):
        return "microweb sessions"
    if location.startswith("microweb/"):
        return "microweb"
    if location.startswith("benchmarks/"):
        return "app handlers"
    if location.startswith(("uvicorn/", "httptools/")):
        return "uvicorn"
    if location.startswith("redis/"):
        return "redis-py"
    if location.startswith(
        ("starlette/", "anyio/", "litestar/", "blacksheep/", "fastapi/", "pydantic", "msgspec/")
    ):
        return location.split("/", 1)[0]
    if location.startswith("asyncio/"):
        return "asyncio (Python)"
    if "Runner.run" in location or "run_forever" in location:
        return "event loop (C)"
    return "stdlib / builtins"


def report_cprofile(stats_path: Path, requests: int, top: int, match: str = "") -> str:
    stats = pstats.Stats(str(stats_path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    entries = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)
    lines = [
        f"cProfile: {requests:,} requests, {total:.2f} s own time in total, "
        f"{total / requests * 1e6:.1f} us per request (profiler overhead included)",
        "",
        "| # | own us/req | own % | cum us/req | calls/req | function |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    areas: dict[str, float] = collections.defaultdict(float)
    for (file, _line, func), (_, _calls, tottime, _, _) in entries:
        areas[_area(f"{_short(file)}:{func}")] += tottime
    shown = [e for e in entries if match in f"{_short(e[0][0])}:{e[0][2]}"][:top]
    for index, ((file, line, func), (_, calls, tottime, cumtime, _)) in enumerate(shown, 1):
        where = f"{_short(file)}:{line}" if line else file
        lines.append(
            f"| {index} | {tottime / requests * 1e6:.2f} | {tottime / total:.1%} "
            f"| {cumtime / requests * 1e6:.2f} | {calls / requests:.2f} | `{func}` {where} |"
        )
    lines += ["", "| area | own % |", "|---|---:|"]
    lines += [
        f"| {area} | {share / total:.1%} |"
        for area, share in sorted(areas.items(), key=lambda item: item[1], reverse=True)
    ]
    return "\n".join(lines)


def report_py_spy(raw_path: Path, rps: float, top: int, match: str = "") -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names = []
        for frame in stack.split(";"):
            parts = _FRAME.match(frame)
            names.append(f"{parts['func']} {_short(parts['file'])}" if parts else frame)
        own[names[-1]] += count
        areas[_area(_short(_FRAME.sub(r"\g<file>:\g<func>", stack.split(";")[-1])))] += count
        for name in set(names):
            inclusive[name] += count
    if not total:
        raise BenchmarkError("py-spy recorded no samples")
    per_request = 1e6 / rps  # the server is saturated: one request costs 1/rps of a CPU
    lines = [
        f"py-spy: {total:,} samples at {rps:,.0f} req/s -> {per_request:.1f} us of server CPU "
        "per request (us/req below = share x that)",
        "",
        "| # | own us/req | own % | incl % | function |",
        "|---:|---:|---:|---:|---|",
    ]
    shown = [(name, count) for name, count in own.most_common() if match in name][:top]
    for index, (name, count) in enumerate(shown, 1):
        lines.append(
            f"| {index} | {count / total * per_request:.2f} | {count / total:.1%} "
            f"| {inclusive[name] / total:.1%} | `{name}` |"
        )
    lines += ["", "| area (own time) | % | us/req |", "|---|---:|---:|"]
    lines += [
        f"| {area} | {count / total:.1%} | {count / total * per_request:.2f} |"
        for area, count in areas.most_common()
    ]
    return "\n".join(lines)


# -- the run -----------------------------------------------------------------------------


def profile(args: argparse.Namespace) -> str:
    if shutil.which("wrk") is None:
        raise BenchmarkError("wrk is not installed: run `make bench-deps` or apt-get install wrk")
    row = ROWS[args.row]
    if args.sampler == "cprofile" and framework_of(args.server) == COMPILED:
        # cProfile sees no call inside a compiled module, and this script serves from the
        # source tree: it would profile the pure build under the compiled server's name.
        raise BenchmarkError(
            f"--sampler cprofile cannot profile {args.server}: use py-spy, where compiled "
            "code counts as the own time of the Python frame that called it"
        )
    server_prefix, wrk_prefix = _cpu_pinning(True)
    with tempfile.TemporaryDirectory(prefix="microweb-profile-") as tmp:
        tmp_path = Path(tmp)
        script = write_lua_scripts([row], tmp_path).get(row.name)
        output = tmp_path / "out"
        if args.sampler == "cprofile":
            server = start_cprofile_server(args.server, server_prefix, output, tmp_path / "log")
        else:
            if (
                shutil.which("py-spy") is None
                and not Path(sys.executable).with_name("py-spy").exists()
            ):
                raise BenchmarkError("py-spy is not installed: .venv/bin/pip install py-spy")
            server = start_server(args.server, SERVERS[args.server], server_prefix, tmp_path)
        sampler: subprocess.Popen[bytes] | None = None
        try:
            wait_until_ready(server)
            check_answers(server, [row])
            run_wrk(wrk_prefix, server.port, row, script, args.connections, 2)  # warm-up
            if args.sampler == "cprofile":
                os.kill(server.process.pid, signal.SIGUSR1)
            else:
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                sampler = subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(server.process.pid),
                        "--duration",
                        str(max(1, round(args.duration) - 1)),
                        "--rate",
                        "1000",
                        "--nonblocking",
                        "--format",
                        "raw",
                        "--output",
                        str(output),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            result = run_wrk(wrk_prefix, server.port, row, script, args.connections, args.duration)
            if args.sampler == "cprofile":
                os.kill(server.process.pid, signal.SIGUSR2)
            else:
                assert sampler is not None
                sampler.wait(timeout=30)
            deadline = time.monotonic() + 30
            while not output.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)  # let the dump finish
            if not output.exists():
                raise BenchmarkError(f"the profiler wrote nothing:\n{server.log_tail()}")
        finally:
            if sampler is not None and sampler.poll() is None:
                sampler.kill()
                sampler.wait()
            stop_server(server)
            if args.row == "session-redis":
                with contextlib.suppress(Exception):
                    clean_redis()  # only the benchmark's own key prefixes
        heading = (
            f"## {args.server}, {row.label}: {result.requests_per_sec:,.0f} req/s "
            f"while profiled ({args.sampler}, {args.duration:g} s, {args.connections} conns)\n"
        )
        if args.sampler == "cprofile":
            return heading + report_cprofile(
                output, max(1, result.total_requests), args.top, args.match
            )
        return heading + report_py_spy(output, result.requests_per_sec, args.top, args.match)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_serve"]:
        serve_with_cprofile(argv[1], int(argv[2]), argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", choices=list(SERVERS), default="microweb")
    parser.add_argument("--row", choices=list(ROWS), default="hello")
    parser.add_argument("--sampler", choices=["py-spy", "cprofile"], default="py-spy")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--match", default="", help="list only functions whose file:name contains this"
    )
    args = parser.parse_args(argv)
    if args.row not in SERVES[args.server]:
        parser.error(f"{args.server} serves {', '.join(SERVES[args.server])}, not {args.row}")
    try:
        print(profile(args))
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
