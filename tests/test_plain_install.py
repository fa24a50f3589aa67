"""`pip install microweb` alone serves WebSockets under uvicorn.

Each test builds a fresh venv (no pip, under a second) whose site-packages holds
only microweb and the distributions its declared dependencies pull in, found from
the installed metadata, linked from this environment: the packages a plain install
would bring, without the dev extra's. uvicorn from that venv then serves a
WebSocket route for real.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import microweb

from .servers import serve


def dependency_closure(name: str) -> dict[str, importlib.metadata.Distribution]:
    """`name` and every distribution its requirements (no extras) pull in, recursively."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [(name, frozenset[str]())]
    while pending:
        wanted, extras = pending.pop()
        dist = importlib.metadata.distribution(wanted)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found and not extras:
            continue
        found[key] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras or {""}]
            if requirement.marker is None or any(
                requirement.marker.evaluate(env) for env in environments
            ):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return found


def plain_venv(path: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """A venv holding microweb (this checkout) and its dependency closure, less
    `leave_out`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for key, dist in dependency_closure("microweb").items():
        if key in leave_out:
            continue
        if key == "microweb":
            # the package this suite runs on: the source tree (the editable install), or
            # the installed compiled wheel under `make test-compiled`, with the shared
            # library of its C code beside it
            (site / "microweb").symlink_to(Path(microweb.__file__).parent)
            for file in dist.files or ():
                if "__mypyc" in str(file):
                    (site / str(file)).symlink_to(Path(str(dist.locate_file(file))))
            continue
        tops = {PurePosixPath(str(file)).parts[0] for file in dist.files or ()}
        for top in tops - {"..", "__pycache__"}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    return python


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("plain-install")


def test_the_declared_dependencies_include_a_websocket_library_for_uvicorn():
    closure = dependency_closure("microweb")

    assert "uvicorn" in closure
    assert "websockets" in closure or "wsproto" in closure


def test_a_plain_install_serves_websocket_routes_under_uvicorn(venvs: Path):
    python = plain_venv(venvs / "plain")

    with (
        serve("tests.apps.ws_app:app", venvs, python=str(python)) as server,
        connect(f"ws://127.0.0.1:{server.port}/echo") as ws,
    ):
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"

    assert "cannot" not in server.output()


def test_without_a_websocket_library_uvicorn_start_up_logs_an_error(venvs: Path):
    python = plain_venv(venvs / "no-websockets", leave_out=("websockets",))

    with (
        serve("tests.apps.ws_app:app", venvs, python=str(python)) as server,
        pytest.raises(InvalidStatus) as refused,
        connect(f"ws://127.0.0.1:{server.port}/json/lobby"),
    ):
        pass

    assert refused.value.response.status_code == 501
    assert b"cannot open WebSockets" in refused.value.response.body
    log = server.output()
    assert "WebSocket routes cannot be served: uvicorn has no WebSocket library" in log
    assert "reached the app as a plain HTTP request" in log
