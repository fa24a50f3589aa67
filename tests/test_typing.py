"""What mypy --strict sees of the API users touch most: the request's accessors, typed
context variables, and handlers under the route decorators."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

USER_CODE = textwrap.dedent(
    """
    from dataclasses import dataclass
    from typing import Protocol, TypedDict

    from microweb import Context, MicroWeb, Response, create_middleware
    from microweb.compose import Next

    app = MicroWeb()


    @dataclass
    class User:
        name: str


    class Vars(TypedDict):
        user: User


    class AttrVars(Protocol):
        user: User


    @create_middleware
    async def load_user(c: Context[Vars], next: Next) -> None:
        c.set("user", User("ann"))
        await next()


    @app.get("/users/:id", load_user)
    async def user(c: Context[Vars]) -> Response:
        reveal_type(c.req.param("id"))
        reveal_type(c.req.param())
        reveal_type(c.req.query("q"))
        reveal_type(c.req.header("accept"))
        reveal_type(c.req.cookie("session"))
        reveal_type(c.var["user"])
        return c.text(c.var["user"].name)


    @app.get("/me")
    async def me(c: Context[AttrVars]) -> Response:
        reveal_type(c.var.user)
        return c.text(c.var.user.name)


    @app.get("/plain")
    async def plain(c: Context) -> Response:
        reveal_type(c.var)
        number = int(c.req.param("id"))  # E: a param may be missing
        return c.text(str(number))

    """
)


def mypy_strict(tmp_path: Path, code: str) -> str:
    """What mypy --strict prints for `code`, a user's module importing microweb."""
    (tmp_path / "typed_app.py").write_text(code)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "typed_app.py",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        timeout=180,
    )
    return result.stdout


def test_route_decorators_keep_the_handler_typed_under_mypy_strict(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        from microweb import Context, MicroWeb, Response

        app = MicroWeb()


        @app.get("/users/:id")
        async def user(c: Context) -> Response:
            return c.text("hi")


        @app.on("PURGE", "/cache")
        async def purge(c: Context) -> Response:
            return c.text("purged")


        reveal_type(user)
        """
    )
    out = mypy_strict(tmp_path, code)

    assert "Untyped decorator" not in out, out
    assert 'Revealed type is "def (c: microweb.context.Context[Any]) -> typing.Coroutine' in out
    assert out.count("error:") == 0, out


def test_mypy_strict_types_the_request_and_context_variables(tmp_path: Path) -> None:
    out = mypy_strict(tmp_path, USER_CODE)
    revealed = [
        line.split("Revealed type is ")[1] for line in out.splitlines() if "Revealed" in line
    ]

    assert revealed == [
        '"str | None"',
        '"dict[str, str]"',
        '"str | None"',
        '"str | None"',
        '"str | None"',
        '"typed_app.User"',
        '"typed_app.User"',
        '"Any"',
    ], out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out
    assert 'Argument 1 to "int" has incompatible type "str | None"' in errors[0], out


def test_help_on_a_route_method_shows_its_signature_and_forms() -> None:
    import pydoc

    from microweb import MicroWeb

    page = pydoc.render_doc(MicroWeb().get, renderer=pydoc.plaintext)

    assert "get(path: 'str | Iterable[str]', /, *handlers" in page
    assert "Register handlers for GET" in page
    assert "@app.get(path, mw1, mw2)" in page
    assert "name" in page and "responses" in page


TEST_CODE = textwrap.dedent(
    """
    from microweb import MicroWeb
    from microweb.testing import TestClient

    client = TestClient(MicroWeb())
    client.get("/", params={"q": "x"}, headers={"accept": "text/html"})
    client.post("/", json={"n": 1}, follow_redirects=True)
    client.get("/", parms={"q": "x"})  # E: misspelt
    client.post("/", follow_redirects="yes")  # E: not a bool
    """
)


def test_mypy_strict_checks_the_test_clients_request_options(tmp_path: Path) -> None:
    errors = [line for line in mypy_strict(tmp_path, TEST_CODE).splitlines() if ": error:" in line]

    assert len(errors) == 2, errors
    assert '"parms"' in errors[0] and '"follow_redirects"' in errors[1], errors
