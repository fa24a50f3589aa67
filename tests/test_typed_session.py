"""`TypedSession`: typed fields with defaults over the request's session, checked by mypy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from microweb import MicroWeb, TypedSession, session
from microweb.context import Context
from microweb.testing import TestClient

ROOT = Path(__file__).resolve().parents[1]


class Prefs(TypedSession):
    visits: int = 0
    theme: str = "light"
    tags: list[str] = []
    nickname: str | None


class Counter(TypedSession):
    count: int = 0


class Basket(TypedSession):
    flags: set[str] = set()
    counts: dict[str, int] = {}


class AdminPrefs(Prefs):
    level: int = 1


class Labelled(TypedSession):
    label: ClassVar[str] = "labelled"
    count: int = 0


def build_app() -> MicroWeb:
    app = MicroWeb()
    app.use(session())

    @app.get("/read")
    async def read(c: Context) -> dict[str, Any]:
        return Prefs.of(c).to_dict()

    @app.get("/visit")
    async def visit(c: Context) -> dict[str, int]:
        prefs = Prefs.of(c)
        prefs.visits += 1
        return {"visits": prefs.visits}

    @app.get("/theme/:theme")
    async def set_theme(c: Context) -> str:
        Prefs(c.get("session")).theme = c.req.param("theme")
        return "ok"

    @app.get("/forget-theme")
    async def forget_theme(c: Context) -> str:
        del Prefs.of(c).theme
        return "ok"

    @app.get("/tag/:tag")
    async def tag(c: Context) -> dict[str, list[str]]:
        prefs = Prefs.of(c)
        prefs.tags.append(c.req.param("tag"))
        return {"tags": prefs.tags}

    @app.get("/nickname/:name")
    async def nickname(c: Context) -> str:
        Prefs.of(c).nickname = c.req.param("name")
        return "ok"

    @app.get("/count")
    async def count(c: Context) -> dict[str, int]:
        return {"count": Counter.of(c).count}

    @app.get("/basket/:item")
    async def basket(c: Context) -> dict[str, Any]:
        view = Basket.of(c)
        item = c.req.param("item")
        view.flags.add(item)
        view.counts[item] = view.counts.get(item, 0) + 1
        return {"flags": sorted(view.flags), "counts": view.counts}

    @app.get("/admin-prefs")
    async def admin_prefs(c: Context) -> dict[str, Any]:
        prefs = AdminPrefs.of(c)
        prefs.level += 1
        prefs.visits += 1
        return prefs.to_dict()

    @app.get("/labelled")
    async def labelled(c: Context) -> dict[str, Any]:
        view = Labelled.of(c)
        view.count += 1
        return {"label": view.label, "fields": view.to_dict()}

    @app.get("/raw")
    async def raw(c: Context) -> dict[str, Any]:
        return c.get("session").all()  # type: ignore[no-any-return]

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app()) as client:
        yield client


@pytest.fixture
def other_client(client: TestClient) -> Iterator[TestClient]:
    other = TestClient(client.app)
    yield other
    other.close()


def public(data: dict[str, Any]) -> dict[str, Any]:
    """The session's keys without the CSRF token and flash bookkeeping."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


def test_fields_read_their_defaults_in_a_new_session(client: TestClient) -> None:
    assert client.get("/read").json() == {
        "visits": 0,
        "theme": "light",
        "tags": [],
        "nickname": None,
    }


def test_reading_immutable_defaults_creates_no_session(client: TestClient) -> None:
    response = client.get("/count")
    assert response.json() == {"count": 0}
    assert "set-cookie" not in response.headers


def test_assignment_writes_through_to_the_session(client: TestClient) -> None:
    client.get("/theme/dark")
    assert public(client.get("/raw").json()) == {"theme": "dark"}


def test_writes_persist_across_requests(client: TestClient) -> None:
    assert client.get("/visit").json() == {"visits": 1}
    assert client.get("/visit").json() == {"visits": 2}
    client.get("/theme/dark")
    client.get("/nickname/ada")
    prefs = client.get("/read").json()
    assert (prefs["visits"], prefs["theme"], prefs["nickname"]) == (2, "dark", "ada")


def test_mutating_a_mutable_default_persists(client: TestClient) -> None:
    client.get("/tag/tea")
    assert client.get("/tag/scones").json() == {"tags": ["tea", "scones"]}
    assert client.get("/read").json()["tags"] == ["tea", "scones"]
    assert public(client.get("/raw").json())["tags"] == ["tea", "scones"]


def test_mutating_set_and_dict_defaults_persists(client: TestClient) -> None:
    client.get("/basket/tea")
    client.get("/basket/tea")
    assert client.get("/basket/jam").json() == {
        "flags": ["jam", "tea"],
        "counts": {"tea": 2, "jam": 1},
    }


def test_mutable_default_is_not_shared_between_sessions(
    client: TestClient, other_client: TestClient
) -> None:
    client.get("/tag/tea")
    assert other_client.get("/read").json()["tags"] == []
    assert Prefs.__dict__["tags"].default == []


def test_del_forgets_the_field_so_it_reads_its_default_again(client: TestClient) -> None:
    client.get("/theme/dark")
    client.get("/forget-theme")
    assert "theme" not in client.get("/raw").json()
    assert client.get("/read").json()["theme"] == "light"


def test_subclass_inherits_the_fields_of_its_parent(client: TestClient) -> None:
    client.get("/visit")
    assert client.get("/admin-prefs").json() == {
        "visits": 2,
        "theme": "light",
        "tags": [],
        "nickname": None,
        "level": 2,
    }


def test_classvar_annotations_are_not_session_fields(client: TestClient) -> None:
    assert Labelled.label == "labelled"
    assert client.get("/labelled").json() == {"label": "labelled", "fields": {"count": 1}}
    assert "label" not in client.get("/raw").json()


def test_typed_session_needs_the_session_middleware() -> None:
    app = MicroWeb()

    @app.get("/")
    async def home(c: Context) -> dict[str, int]:
        return {"count": Counter.of(c).count}

    with TestClient(app) as client:
        assert client.get("/").status_code == 500


# -- static typing -------------------------------------------------------------------


MODEL = """\
from microweb import TypedSession


class Prefs(TypedSession):
    visits: int = 0
    tags: list[str] = []

"""


def run_mypy(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / name
    path.write_text(MODEL + textwrap.dedent(code))
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_mypy_reports_a_str_assigned_to_an_int_field(tmp_path: Path) -> None:
    result = run_mypy(
        tmp_path,
        "wrong.py",
        """
        def bump(prefs: Prefs) -> None:
            prefs.visits = "many"
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    source = (tmp_path / "wrong.py").read_text().splitlines()
    line = source.index('    prefs.visits = "many"') + 1
    assert f"wrong.py:{line}: error: Incompatible types in assignment" in result.stdout
    assert 'expression has type "str", variable has type "int"' in result.stdout


def test_mypy_accepts_correct_use_of_the_fields(tmp_path: Path) -> None:
    result = run_mypy(
        tmp_path,
        "right.py",
        """
        from microweb import Context


        def bump(c: Context) -> int:
            prefs = Prefs.of(c)
            prefs.visits += 1
            prefs.tags.append("tea")
            del prefs.visits
            total: int = prefs.visits + len(prefs.tags)
            return total
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
