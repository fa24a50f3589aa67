"""WebSocket echo throughput: messages per second through microweb and Starlette.

Usage (from the repository root)::

    .venv/bin/python benchmarks/websocket.py [--duration 5] [--rounds 3] [--connections 32]

Each server runs under the same uvicorn as benchmarks/throughput.py (its `start_server`:
1 worker, uvloop, httptools, plus the ``websockets`` protocol implementation) pinned to one
CPU; the load runs in this process on the other CPU: ``--connections`` sockets, each
sending a 64-byte text message and waiting for its echo, over and over, for ``--duration``
seconds. Rounds alternate the servers; the report is the median messages per second and
the ratio microweb / Starlette. The client is the same for both, so its cost compresses the
ratio towards 1: the ratio is a lower bound of the servers' own difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.throughput import BenchmarkError, _cpu_pinning, start_server, stop_server

SERVERS = {
    "microweb": "benchmarks.apps.ws_echo:microweb_app",
    "starlette": "benchmarks.apps.ws_echo:starlette_app",
}
MESSAGE = "x" * 64
TARGET = 1.2  # microweb / Starlette, only reported


async def _wait_open(port: int, deadline: float) -> None:
    import websockets

    while True:
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send(MESSAGE)
                if await ws.recv() == MESSAGE:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchmarkError(f"no WebSocket echo on port {port}")
        await asyncio.sleep(0.1)


async def _load(port: int, connections: int, duration: float) -> float:
    """Messages echoed per second over `connections` sockets for `duration` seconds."""
    import websockets

    stop_at = time.monotonic() + duration
    counts = [0] * connections

    async def one(index: int) -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
            while time.monotonic() < stop_at:
                await ws.send(MESSAGE)
                if await ws.recv() != MESSAGE:
                    raise BenchmarkError("the echo differs from the message")
                counts[index] += 1

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(connections)))
    return sum(counts) / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)

    server_cpu, client_cpu = _cpu_pinning(True)
    if client_cpu:
        os.sched_setaffinity(0, {int(client_cpu[-1])})
    results: dict[str, list[float]] = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory() as logs:
        servers = []
        try:
            for name, target in SERVERS.items():
                ws = ("--ws", "websockets")
                servers.append(start_server(name, target, server_cpu, Path(logs), ws))
            for server in servers:
                asyncio.run(_wait_open(server.port, time.monotonic() + 60))
                asyncio.run(_load(server.port, args.connections, 1.0))  # warm-up
            for round_number in range(1, args.rounds + 1):
                for server in servers:
                    rate = asyncio.run(_load(server.port, args.connections, args.duration))
                    results[server.name].append(rate)
                    print(f"round {round_number}: {server.name:10} {rate:10,.0f} msg/s", flush=True)
        finally:
            for server in servers:
                stop_server(server)
    medians = {name: statistics.median(rates) for name, rates in results.items()}
    ratio = medians["microweb"] / medians["starlette"]
    print()
    print("| server | messages/s (median) | microweb / it |")
    print("|---|---|---|")
    for name, rate in medians.items():
        print(f"| {name} | {rate:,.0f} | {medians['microweb'] / rate:.2f}x |")
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"\nmicroweb / Starlette = {ratio:.2f}x ({verdict} the {TARGET}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
