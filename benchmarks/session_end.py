"""How long a WebSocket outlives its session: close latency on real uvicorn workers.

Usage (from the repository root)::

    .venv/bin/python benchmarks/session_end.py [--rounds 40] [--expiries 8]

For each server-side driver, uvicorn workers serve benchmarks/apps/session_end_app.py:
one worker for the memory driver (its sessions live in one process), two for the file
driver (one directory) and for Redis (a throwaway `redis-server` of its own). Each
round signs a user in on the second worker and opens a socket there, signs the same user
in on the first worker, and logs out everywhere there: the latency is from the logout's
request being sent (and from its answer arriving) to the close frame (4401) reaching
the socket's client. Then
`--expiries` sockets are opened at once under sessions with a 3 s idle lifetime and left
alone: the latency is from each session's expiry (its handshake, which slid it, plus 3 s)
to its close frame. Prints milliseconds: median, 95th percentile and maximum.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import RedisServer, free_port
from tests.servers import Server, serve

APP = "benchmarks.apps.session_end_app:app"
LIFETIME_S = 3.0


def sign_in(server: Server, user: str) -> str:
    answer = httpx.get(f"{server.url}/login/{user}", timeout=10)
    answer.raise_for_status()
    return answer.headers["set-cookie"].split(";", 1)[0]


def open_socket(server: Server, cookie: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + "/socket"
    return connect(url, additional_headers={"cookie": cookie}, open_timeout=10)


def wait_for_close(ws: ClientConnection) -> float:
    """The time (perf_counter) the close frame arrived; its code must be 4401."""
    try:
        while True:
            ws.recv(timeout=30)
    except ConnectionClosed as closed:
        at = time.perf_counter()
        if closed.rcvd is None or closed.rcvd.code != 4401:
            raise RuntimeError(f"closed with {closed.rcvd}, not 4401") from None
        return at


def logout_latencies(first: Server, second: Server, rounds: int) -> tuple[list[float], list[float]]:
    """Per round: from the logout's request being sent, and from its answer arriving, to
    the close frame (negative when the close came first)."""
    from_request, from_answer = [], []
    with httpx.Client(base_url=first.url, timeout=10) as laptop_http:
        for _ in range(rounds):
            user = f"u{uuid.uuid4().hex[:8]}"
            phone = sign_in(second, user)
            laptop = sign_in(first, user)
            with open_socket(second, phone) as ws:
                sent = time.perf_counter()
                laptop_http.get("/logout/everywhere", headers={"cookie": laptop})
                answered = time.perf_counter()
                closed = wait_for_close(ws)
            from_request.append(closed - sent)
            from_answer.append(closed - answered)
    return from_request, from_answer


def expiry_latencies(server: Server, count: int) -> list[float]:
    def one(_: int) -> float:
        cookie = sign_in(server, f"u{uuid.uuid4().hex[:8]}")
        with open_socket(server, cookie) as ws:
            expires = time.perf_counter() + LIFETIME_S  # the handshake slid the idle time
            return wait_for_close(ws) - expires

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def summary(latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms, p95 {p95:7.1f} ms, max {ms[-1]:7.1f} ms"


@contextlib.contextmanager
def workers(env: dict[str, str], count: int, log_dir: Path) -> Iterator[list[Server]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serve(APP, log_dir, env)) for _ in range(count)]


def main(rounds: int, expiries: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        log_dir = Path(tmp)
        redis = RedisServer(free_port()).start()
        stack.callback(redis.stop)
        setups = {
            "memory (1 worker)": ({"SESSION_DRIVER": "memory"}, 1),
            "file (2 workers)": (
                {"SESSION_DRIVER": "file", "SESSION_DIRECTORY": str(log_dir / "sessions")},
                2,
            ),
            "redis (2 workers)": ({"SESSION_DRIVER": "redis", "REDIS_URL": redis.url}, 2),
        }
        for name, (env, count) in setups.items():
            with workers(env, count, log_dir) as servers:
                first, second = servers[0], servers[-1]
                from_request, from_answer = logout_latencies(first, second, rounds)
                print(f"{name:18} logout everywhere, from its request: {summary(from_request)}")
                print(f"{name:18} logout everywhere, from its answer:  {summary(from_answer)}")
            short = {**env, "SESSION_LIFETIME": str(LIFETIME_S / 60)}
            with workers(short, 1, log_dir) as [server]:
                latencies = expiry_latencies(server, expiries)
                print(f"{name:18} idle expiry, from the deadline:       {summary(latencies)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--expiries", type=int, default=8)
    options = parser.parse_args()
    main(options.rounds, options.expiries)
