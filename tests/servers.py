"""`serve(target)`: a real ASGI server process serving an app on a free port of 127.0.0.1
(`run_server(command, port)` for another command that starts one, `python -m microweb run`).

Used by the end-to-end tests of the examples, the browser suite, the middleware,
static files, WebSockets, many workers and the server matrix. The server is uvicorn
unless `server=` names another of `SERVERS` (uvicorn with httptools or with h11,
hypercorn, granian). It is started from the repository root (so
`tests.apps.<module>:app` and `examples.<module>:app` import), waited for until it
accepts connections, and stopped with SIGTERM (then killed) on exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _uvicorn(*options: str) -> Callable[[str, int], list[str]]:
    def command(target: str, port: int) -> list[str]:
        return ["uvicorn", target, "--host", "127.0.0.1", "--port", str(port), *options]

    return command


def _hypercorn(target: str, port: int) -> list[str]:
    return ["hypercorn", target, "--bind", f"127.0.0.1:{port}", "--log-level", "info"]


def _granian(target: str, port: int) -> list[str]:
    return ["granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), target]


# server name -> the arguments after `python -m` that serve a target on a port.
SERVERS: dict[str, Callable[[str, int], list[str]]] = {
    "uvicorn": _uvicorn("--log-level", "info", "--no-access-log"),
    "uvicorn-httptools": _uvicorn("--http", "httptools", "--log-level", "info", "--no-access-log"),
    "uvicorn-h11": _uvicorn("--http", "h11", "--log-level", "info", "--no-access-log"),
    "hypercorn": _hypercorn,
    "granian": _granian,
}


class Server:
    """A running server: `url`, `port`, `process` and its captured output."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(
    target: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    server: str = "uvicorn",
    python: str = sys.executable,
) -> Iterator[Server]:
    """Serve `target` (module:attribute) with `server`, run by `python`, until the block
    ends."""
    port = free_port()
    command = [python, "-m", *SERVERS[server](target, port), *extra_args]
    with run_server(command, port, log_dir, env, name=server) as running:
        yield running


@contextlib.contextmanager
def run_server(
    command: list[str],
    port: int,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    name: str = "server",
) -> Iterator[Server]:
    """Run `command`, a server that listens on `port`, until the block ends."""
    log = log_dir / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out
        )
    running = Server(process, port, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {running.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not listen: {running.output()}") from None
                time.sleep(0.05)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def raw_request(port: int, request: bytes, timeout: float = 5.0, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes, return all the server answers until it closes the connection."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)
