"""`serve(target)`: a real uvicorn process serving an ASGI app on a free port of 127.0.0.1
(`run_server(command, port)` for another command that starts one, `python -m microweb run`).

Used by the end-to-end tests of the examples, the browser suite, the middleware,
static files, WebSockets and many workers. The server is started from the
repository root (so `tests.apps.<module>:app` and `examples.<module>:app` import),
waited for until it accepts connections (uvicorn listens once the app's startup is
done), and stopped (then killed) on exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """A running uvicorn: `url`, `port`, `process` and its captured output."""

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
) -> Iterator[Server]:
    """Serve `target` (module:attribute) until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "info", "--no-access-log", *extra_args]
    with run_server(command, port, log_dir, env) as server:
        yield server


@contextlib.contextmanager
def run_server(
    command: list[str],
    port: int,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """Run `command`, a server that listens on `port`, until the block ends."""
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {server.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not listen: {server.output()}") from None
                time.sleep(0.05)
        yield server
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
