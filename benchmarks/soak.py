"""Soak test: examples/app.py with Redis sessions under wrk for minutes; errors and memory.

Usage (from the repository root; run on demand, not part of ``make test``)::

    .venv/bin/python benchmarks/soak.py [--duration 300] [--connections 256]
                                        [--warmup 5] [--timeout 5] [--app examples.app:app]

What it does, all on 127.0.0.1 and free ports:

1. starts a throwaway ``redis-server`` (no persistence) of its own;
2. serves ``examples.app:app`` with ``SESSION_DRIVER=redis`` and ``REDIS_URL`` pointing at
   it, under uvicorn (one worker, ``--loop uvloop --http httptools``, no access log);
3. logs in one session per connection through the JSON API (``GET /api/csrf-token``, then
   ``POST /api/login`` with the token), alternating alice and bob;
4. runs wrk with one thread per connection (wrk's Lua state belongs to a thread, so that is
   how each connection keeps its own session cookie): every connection cycles through
   ``/api/me`` (read), ``/dashboard`` (a write: it counts visits), ``/api/me`` and
   ``/api/csrf-token``, sending back its cookie, and counts any answer but 200 as bad (a
   302 to /login would mean the session was lost);
5. after a short warm-up run (not counted), runs for ``--duration`` seconds while sampling
   the server's RSS every second, then checks every session is still logged in.

It prints total requests, req/s, errors (wrk's socket errors + non-2xx/3xx + answers other
than 200), p50/p90/p99/max latency, the server's RSS after start-up, after warm-up and at
the end, with the growth in %, and error lines in the server's stderr. Exits 1 when there
was any error. Every process it started is killed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
APP = "examples.app:app"
COOKIE = "microweb_session"
USERS = (("alice", "wonderland"), ("bob", "builder"))

WRK_LUA = r"""
-- One thread per connection: this Lua state is one connection's, with its own session.
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

local paths = {"/api/me", "/dashboard", "/api/me", "/api/csrf-token"}
local n = 0

function init(args)
  local cookies = {}
  for line in io.lines(args[1]) do table.insert(cookies, line) end
  cookie = cookies[((tid - 1) % #cookies) + 1]
  wrk.headers["Cookie"] = cookie
  wrk.headers["Accept"] = "application/json"
  bad = 0
  changes = 0
end

function request()
  n = n + 1
  return wrk.format("GET", paths[((n - 1) % #paths) + 1])
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad == 1 then  -- the first bad answer of each connection, to tell why
      local text = string.gsub(string.sub(body, 1, 120), "\n", " ")
      io.stderr:write("BAD " .. status .. " " .. text .. "\n")
    end
  end
  local set = headers["set-cookie"] or headers["Set-Cookie"]
  if set then
    local pair = string.match(set, "^([^;]+)")
    if pair ~= cookie then
      changes = changes + 1
      cookie = pair
      wrk.headers["Cookie"] = cookie
    end
  end
end

function done(summary, latency, requests)
  local total_bad, total_changes = 0, 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    total_changes = total_changes + thread:get("changes")
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d " ..
    "bad=%d changes=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    total_bad, total_changes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


class SoakError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SoakError(f"no VmRSS for pid {pid}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate `process` and wait; kill it after 5 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SoakError(f"{what} exited with {process.returncode}")
        with suppress(OSError, httpx.HTTPError):
            if check():
                return
        if time.monotonic() > deadline:
            raise SoakError(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.05)


def redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


def redis_command(port: int, *args: str) -> bytes:
    """Send one command (RESP) and return the raw reply's first line."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(payload.encode())
        return sock.recv(4096).split(b"\r\n", 1)[0]


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SoakError("redis-server is not installed")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(directory)]
    process = subprocess.Popen(
        [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(lambda: redis_ping(port), "redis-server", process, 10)
    return process


def start_server(port: int, redis_port: int, stderr: Path, app: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SESSION_DRIVER": "redis",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: httpx.get(url, timeout=0.5).status_code == 200, "uvicorn", process, 15)
    except SoakError as exc:
        stop(process)
        raise SoakError(f"{exc}: {stderr.read_text(errors='replace')[-2000:]}") from None
    return process


def session_cookie(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("set-cookie"):
        pair = value.split(";", 1)[0]
        if pair.startswith(COOKIE + "=") and pair != COOKIE + "=":
            return pair
    return None


def log_in(client: httpx.Client, base: str, user: str, password: str) -> str:
    """Log in through the JSON API; return the session cookie pair `name=value`."""
    client.cookies.clear()  # the cookie is sent by hand (it is Secure; this is http)
    token = client.get(base + "/api/csrf-token")
    anonymous = session_cookie(token)
    if token.status_code != 200 or anonymous is None:
        raise SoakError(f"GET /api/csrf-token: {token.status_code} {token.text[:200]}")
    client.cookies.clear()
    response = client.post(
        base + "/api/login",
        json={"username": user, "password": password},
        headers={"Cookie": anonymous, "X-CSRF-Token": token.json()["token"]},
    )
    cookie = session_cookie(response)
    if response.status_code != 200 or cookie is None:
        raise SoakError(f"POST /api/login: {response.status_code} {response.text[:200]}")
    if cookie == anonymous:
        raise SoakError("login did not regenerate the session id")
    return cookie


def logged_in(client: httpx.Client, base: str, cookie: str) -> bool:
    client.cookies.clear()
    response = client.get(base + "/api/me", headers={"Cookie": cookie})
    return response.status_code == 200 and response.json().get("user") in dict(USERS)


@dataclass
class WrkResult:
    values: dict[str, float]
    output: str

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    @property
    def errors(self) -> int:
        """Socket errors plus answers other than 200 (which include wrk's non-2xx/3xx)."""
        names = ("connect", "read", "write", "timeout", "bad")
        return int(sum(self.values[n] for n in names))


def run_wrk(
    port: int, connections: int, duration: float, timeout: float, lua: Path, cookies: Path
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SoakError("wrk is not installed (apt-get install wrk)")
    command = [wrk, f"-t{connections}", f"-c{connections}", f"-d{duration:g}s"]
    command += [f"--timeout={timeout:g}s", "-s", str(lua), f"http://127.0.0.1:{port}"]
    command += ["--", str(cookies)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    match = re.search(r"^SOAK (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise SoakError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    bad = Counter(line for line in done.stderr.splitlines() if line.startswith("BAD "))
    for line, times in bad.most_common(5):
        print(f"  {times} connections first got: {line[4:]}")
    values = {k: float(v) for k, v in (item.split("=") for item in match.group(1).split())}
    return WrkResult(values, done.stdout)


@dataclass
class RssSampler:
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        def sample() -> None:
            start = time.monotonic()
            while not self._stop.wait(1.0):
                with suppress(OSError, SoakError):
                    self.samples.append((time.monotonic() - start, rss_kb(self.pid)))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def error_lines(text: str) -> list[str]:
    # microweb's own log lines (the "microweb.sessions" logger, say) reach stderr through
    # Python's last-resort handler, without a level prefix: match their words too.
    markers = ("Traceback", "ERROR", "CRITICAL", "Exception", "Error", "unavailable")
    return [line for line in text.splitlines() if any(m in line for m in markers)]


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def soak(args: argparse.Namespace, workdir: Path) -> int:
    processes: list[subprocess.Popen[bytes]] = []
    try:
        redis_port = free_port()
        processes.append(start_redis(redis_port, workdir))
        port = free_port()  # once Redis holds its port, so the two cannot be the same
        stderr = workdir / "uvicorn.err"
        server = start_server(port, redis_port, stderr, args.app)
        processes.append(server)
        base = f"http://127.0.0.1:{port}"
        rss_boot = rss_kb(server.pid)

        started = time.monotonic()
        with httpx.Client(timeout=10) as client:
            cookies = [
                log_in(client, base, *USERS[i % len(USERS)]) for i in range(args.connections)
            ]
        print(
            f"logged in {len(cookies)} sessions in {time.monotonic() - started:.1f} s "
            f"(Redis keys: {redis_command(redis_port, 'DBSIZE').decode().lstrip(':')})"
        )
        cookie_file = workdir / "cookies.txt"
        cookie_file.write_text("\n".join(cookies) + "\n")
        lua = workdir / "soak.lua"
        lua.write_text(WRK_LUA)

        if args.warmup > 0:
            warm = run_wrk(port, args.connections, args.warmup, args.timeout, lua, cookie_file)
            print(f"warm-up: {warm['requests']:.0f} requests, {warm.errors} errors")
        rss_start = rss_kb(server.pid)
        sampler = RssSampler(server.pid)
        sampler.start()
        print(f"soak: {args.connections} connections for {args.duration:g} s ...", flush=True)
        try:
            result = run_wrk(port, args.connections, args.duration, args.timeout, lua, cookie_file)
        finally:
            sampler.stop()
        rss_end = rss_kb(server.pid)
        with httpx.Client(timeout=10) as client:
            alive = sum(logged_in(client, base, cookie) for cookie in cookies)
        if server.poll() is not None:
            raise SoakError(f"uvicorn died with {server.returncode}")
        logged_errors = error_lines(stderr.read_text(errors="replace"))

        seconds = result["duration_us"] / 1e6
        peak = max((kb for _, kb in sampler.samples), default=rss_end)
        growth = 100.0 * (rss_end - rss_start) / rss_start
        print()
        print(f"duration           {seconds:.1f} s, {args.connections} connections")
        print(f"requests           {result['requests']:.0f} ({result['requests'] / seconds:.0f}/s)")
        print(
            f"errors             {result.errors} (connect {result['connect']:.0f}, read "
            f"{result['read']:.0f}, write {result['write']:.0f}, timeout "
            f"{result['timeout']:.0f}; answers other than 200: {result['bad']:.0f}, of which "
            f"non-2xx/3xx {result['status']:.0f})"
        )
        print(
            f"latency            p50 {result['p50_us'] / 1000:.1f} ms, p90 "
            f"{result['p90_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
            f"max {result['max_us'] / 1000:.1f} ms"
        )
        print(
            f"RSS                after start-up {mb(rss_boot)}, after warm-up {mb(rss_start)}, "
            f"end {mb(rss_end)} (peak {mb(peak)}), growth {growth:+.1f}%"
        )
        if sampler.samples:
            marks = [sampler.samples[(len(sampler.samples) - 1) * q // 4] for q in range(5)]
            trend = ", ".join(f"{t:.0f} s {mb(kb)}" for t, kb in marks)
            print(f"RSS trend          {trend}")
        print(f"sessions           {alive}/{len(cookies)} still logged in afterwards")
        print(f"session id changes {result['changes']:.0f} (expected 0)")
        print(f"server log errors  {len(logged_errors)}")
        for line, times in Counter(logged_errors).most_common(10):
            print(f"    {times} x {line[:300]}")
        failed = result.errors or alive != len(cookies) or logged_errors or result["changes"]
        return 1 if failed else 0
    finally:
        for process in reversed(processes):
            stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument("--connections", type=int, default=256, help="wrk connections")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of uncounted load")
    parser.add_argument("--timeout", type=float, default=5, help="wrk's per-request timeout")
    parser.add_argument(
        "--app",
        default=APP,
        help=f"the app uvicorn serves (default {APP}); it must serve "
        "examples/app.py's routes and take SESSION_DRIVER/REDIS_URL",
    )
    args = parser.parse_args()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    with tempfile.TemporaryDirectory(prefix="microweb-soak-") as tmp:
        try:
            return soak(args, Path(tmp))
        except SoakError as exc:
            print(f"soak failed: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
