"""Fixtures for the fault-injection suite: real processes, killed for real.

Everything listens on 127.0.0.1 and on free ports; every process a test starts
is killed in teardown, whatever the outcome.

- `redis_factory()`: a throwaway `redis-server` of the test's own (never the
  shared one on 6379) with append-only persistence fsynced on every write, so
  `kill()` (SIGKILL) then `start()` on the same port brings back every write
  the server acknowledged. Without persistence a SIGKILLed Redis would lose its
  data by definition, and "sessions survive the outage" could not be tested.
- `uvicorn_factory(**env)`: a real uvicorn serving tests/faults/fault_app.py
  (sessions in Redis when `FAULT_REDIS_URL`/`FAULT_PREFIX` are given), with
  stdout and stderr captured to files; `kill()` is SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..conftest import free_port, no_redis, redis_answers

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.faults.fault_app:app"


def _reap(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Send `sig` to `process` (if alive) and wait; SIGKILL after 5 s."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PersistentRedis:
    """`redis-server` on 127.0.0.1:`port`, AOF with `appendfsync always` in `directory`."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> float:
        """Start the process without waiting for it; return the monotonic start time."""
        binary = shutil.which("redis-server")
        assert binary is not None
        assert self.process is None or self.process.poll() is not None, "already running"
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)]
        started = time.monotonic()
        self.process = subprocess.Popen(
            [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return started

    def wait_ready(self, timeout: float = 10) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not redis_answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def start(self) -> float:
        started = self.spawn()
        self.wait_ready()
        return started

    def kill(self) -> None:
        """kill -9: no shutdown, no final save."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _reap(self.process)


class UvicornServer:
    """A real uvicorn serving `app` on 127.0.0.1:`port`."""

    def __init__(self, port: int, logs: Path, env: dict[str, str], app: str = APP) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stdout = logs / f"uvicorn-{port}.out"
        self.stderr = logs / f"uvicorn-{port}.err"
        self.env = env
        self.app = app
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> UvicornServer:
        command = [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--log-level", "info", "--no-access-log"]
        env = {**os.environ, **self.env}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.stderr_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=0.5):
                    return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not answer: {self.stderr_text()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """kill -9 the worker."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _reap(self.process)

    def stderr_text(self) -> str:
        return self.stderr.read_text(errors="replace")

    def rss_kb(self) -> int:
        """VmRSS of the server process, in kB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def threads(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise RuntimeError("no Threads")


def error_lines(text: str) -> list[str]:
    """The lines of a server log that report an error or a traceback."""
    return [
        line
        for line in text.splitlines()
        if "Traceback" in line or line.startswith(("ERROR", "CRITICAL")) or " ERROR " in line
    ]


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[[], PersistentRedis]]:
    if shutil.which("redis-server") is None:
        no_redis("there is no redis-server binary to start a throwaway Redis")
    started: list[PersistentRedis] = []

    def start() -> PersistentRedis:
        directory = tmp_path / f"redis-{len(started)}"
        directory.mkdir()
        server = PersistentRedis(free_port(), directory)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def uvicorn_factory(tmp_path: Path) -> Iterator[Callable[..., UvicornServer]]:
    started: list[UvicornServer] = []

    def start(**env: str) -> UvicornServer:
        server = UvicornServer(free_port(), tmp_path, env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        with contextlib.suppress(Exception):
            server.stop()
