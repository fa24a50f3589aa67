"""`python -m microweb run` and `routes`, run for real in a subprocess."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from pathlib import Path

import pytest

from microweb import MicroWeb
from microweb.cli import route_lines

from .conftest import free_port
from .servers import ROOT, raw_request, run_server


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "microweb", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def get(port: int, path: str, accept: str = "text/plain") -> tuple[str, str]:
    """(status line, body) of a GET on 127.0.0.1:`port`."""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    answer = raw_request(port, request.encode()).decode("utf-8", "replace")
    head, _, body = answer.partition("\r\n\r\n")
    return head.partition("\r\n")[0], body


# -- routes ------------------------------------------------------------------------------


def test_routes_prints_the_example_apps_route_table():
    result = cli("routes", "examples.app:app")

    assert (result.returncode, result.stderr) == (0, "")
    lines = [line.split() for line in result.stdout.splitlines()]
    # The app.use() middleware first, on its own line, as registered.
    assert lines[0] == [
        "ALL",
        "*",
        "secure_headers_middleware",
        "AppSessionMiddleware",
        "csrf",
        "Jinja",
        "Broadcast",
        "Presence",
    ]
    assert ["GET", "/", "home"] in lines
    assert ["POST", "/login", "RateLimit", "login_submit"] in lines
    assert ["GET", "/admin", "require_auth", "require_role", "admin"] in lines
    assert ["POST", "/api/notes", "require_auth", "Validator", "add_note"] in lines
    assert ["WEBSOCKET", "/chat/socket", "require_auth", "chat_socket"] in lines
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal
    # The paths line up in one column.
    rows = result.stdout.splitlines()
    assert len({row.index("/") if "/" in row else row.index("*") for row in rows}) == 1


def test_routes_names_what_has_no_plain_name():
    async def guard(c, next):
        await next()

    async def show(c, extra):
        return extra

    sub = MicroWeb()
    sub.on_error(lambda err, c: c.text("sub failed", 500))
    sub.get("/item", guard, functools.partial(show, extra="x"))
    app = MicroWeb()
    app.get("/", lambda c: "home")
    app.route("/sub", sub)

    assert [line.split() for line in route_lines(app)] == [
        ["GET", "/", "[handler]"],
        ["GET", "/sub/item", "guard", "show"],
    ]


# -- errors ------------------------------------------------------------------------------

BROKEN_MODULES = {
    "needs_missing.py": "import not_installed_anywhere\n",
    "fails_at_import.py": "SETTING = 1\nraise RuntimeError('DATABASE_URL is not set')\n",
    "bad_syntax.py": "def f(:\n",
    "no_app.py": "application = 42\n",
}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "no_such_module:app",
            "cannot import 'no_such_module': no module named 'no_such_module' "
            "(looked in {dir} and the installed packages)",
        ),
        (
            "needs_missing:app",
            "importing 'needs_missing' failed: ModuleNotFoundError: No module named "
            "'not_installed_anywhere' ({dir}/needs_missing.py, line 1)",
        ),
        (
            "fails_at_import:app",
            "importing 'fails_at_import' failed: RuntimeError: DATABASE_URL is not set "
            "({dir}/fails_at_import.py, line 2)",
        ),
        (
            "bad_syntax:app",
            "importing 'bad_syntax' failed: SyntaxError: invalid syntax "
            "({dir}/bad_syntax.py, line 1)",
        ),
        ("no_app:app", "module 'no_app' has no attribute 'app'"),
        ("no_app:application", "no_app:application is not a MicroWeb app (its type is int)"),
        ("no_app", "expected MODULE:APP (as examples.app:app), got 'no_app'"),
    ],
)
def test_an_app_that_does_not_load_is_one_line_and_exit_status_2(tmp_path, target, message):
    for name, source in BROKEN_MODULES.items():
        (tmp_path / name).write_text(source)

    result = cli("routes", target, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == f"python -m microweb: error: {message.format(dir=tmp_path)}\n"
    assert result.stdout == ""


def test_run_checks_the_app_before_serving(tmp_path):
    (tmp_path / "no_app.py").write_text(BROKEN_MODULES["no_app.py"])

    result = cli("run", "no_app:application", "--port", str(free_port()), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "python -m microweb: error: no_app:application is not a MicroWeb app (its type is int)\n"
    )


def test_help_lists_the_commands_and_their_options():
    top = cli("--help")
    run = cli("run", "--help")

    assert top.returncode == 0
    assert "usage: python -m microweb" in top.stdout
    for text in ("run", "routes", "MODULE:APP", "python -m microweb run examples.app:app"):
        assert text in top.stdout
    assert run.returncode == 0
    for option in ("--host", "--port", "--reload", "--workers N", "--debug"):
        assert option in run.stdout


def test_no_command_prints_the_help_and_exit_status_2():
    result = cli()

    assert result.returncode == 2
    assert "usage: python -m microweb" in result.stderr


def test_bad_options_are_refused_before_anything_starts():
    port = cli("run", "examples.app:app", "--port", "99999")
    both = cli("run", "examples.app:app", "--reload", "--workers", "2")

    assert port.returncode == 2
    assert "argument --port: expected a number from 0 to 65535, got '99999'" in port.stderr
    assert both.returncode == 2
    assert "argument --workers: not allowed with argument --reload" in both.stderr


# -- run ---------------------------------------------------------------------------------


def serve_cli(tmp_path, *args: str, cwd: Path = ROOT):
    port = free_port()
    command = [sys.executable, "-m", "microweb", "run", *args, "--port", str(port)]
    return run_server(command, port, tmp_path, cwd=cwd)


def test_run_serves_the_app_and_hides_errors_without_debug(tmp_path):
    with serve_cli(tmp_path, "tests.apps.debug_app:app") as server:
        home = get(server.port, "/")
        boom = get(server.port, "/boom")

    assert home == ("HTTP/1.1 200 OK", "home")
    assert boom == ("HTTP/1.1 500 Internal Server Error", "Internal Server Error")


def test_run_debug_with_workers_shows_the_page_from_each(tmp_path):
    with serve_cli(tmp_path, "tests.apps.debug_app:app", "--debug", "--workers", "2") as server:
        deadline = time.monotonic() + 20
        while server.output().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        answers = [get(server.port, "/boom") for _ in range(6)]
        missing = get(server.port, "/missing")
        log = server.output()

    for status, body in answers:
        assert status == "HTTP/1.1 500 Internal Server Error"
        assert "RuntimeError: boom from the debug app" in body
    assert "GET  /boom" in missing[1]  # the 404 lists the routes
    assert "debug page on, for requests from this machine" in log


def test_run_debug_stays_off_on_a_non_loopback_host(tmp_path):
    with serve_cli(tmp_path, "tests.apps.debug_app:app", "--debug", "--host", "0.0.0.0") as server:
        status, body = get(server.port, "/boom")
        log = server.output()

    assert (status, body) == ("HTTP/1.1 500 Internal Server Error", "Internal Server Error")
    assert "debug stays off: --host 0.0.0.0 is not a loopback address" in log


def test_run_reload_serves_the_changed_code(tmp_path):
    module = tmp_path / "reloading_app.py"
    source = "from microweb import MicroWeb\napp = MicroWeb()\napp.get('/', lambda c: {!r})\n"
    module.write_text(source.format("first"))

    with serve_cli(tmp_path, "reloading_app:app", "--reload", cwd=tmp_path) as server:
        assert get(server.port, "/")[1] == "first"
        module.write_text(source.format("second"))
        deadline = time.monotonic() + 20
        written = time.monotonic()
        body = "first"
        while body != "second" and time.monotonic() < deadline:
            time.sleep(0.2)
            if time.monotonic() - written > 3:
                # On a loaded machine uvicorn's reloader has missed the first edit (its file
                # watcher starts beside the server process): save again, as an editor would.
                module.write_text(source.format("second"))
                written = time.monotonic()
            try:
                body = get(server.port, "/")[1]
            except OSError:  # between the old process and the new one
                continue
        log = server.output()

    assert body == "second", log
