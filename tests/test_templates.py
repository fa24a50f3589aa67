"""jinja() and c.render(): autoescaping, what templates see, caching, and missing templates."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from microweb import MicroWeb, csrf, session
from microweb.middleware import NONCE, secure_headers
from microweb.templates import jinja
from microweb.testing import TestClient


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "hello.html").write_text("<p>Hello {{ name }}</p>")
    (folder / "plain.txt").write_text("Hello {{ name }}")
    (folder / "base.html").write_text(
        "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}"
    )
    (folder / "child.html").write_text(
        '{% extends "base.html" %}{% block title %}T{% endblock %}{% block body %}B{% endblock %}'
    )
    (folder / "globals.html").write_text(
        "path={{ c.req.path }} user={{ session.get('user') }} "
        "flash={{ flashes.get('note') }} {{ csrf_field() }} nonce={{ csp_nonce() }}"
    )
    (folder / "no_session.html").write_text("s={{ session }} f={{ flashes | length }}")
    return folder


def make(templates: Path, *mw: object, **env: object) -> TestClient:
    app = MicroWeb()
    for m in mw:
        app.use(m)  # type: ignore[arg-type]
    app.use(jinja(templates, **env))  # type: ignore[arg-type]

    @app.get("/hello")
    async def hello(c):  # type: ignore[no-untyped-def]
        return c.render("hello.html", {"name": c.req.query("name")})

    @app.get("/plain")
    async def plain(c):  # type: ignore[no-untyped-def]
        return c.render("plain.txt", {"name": c.req.query("name")})

    @app.get("/child")
    async def child(c):  # type: ignore[no-untyped-def]
        return c.render("child.html", status=201, headers={"x-extra": "1"})

    @app.get("/flash")
    async def flash(c):  # type: ignore[no-untyped-def]
        c.get("session").put("user", "ann")
        c.get("session").flash("note", "saved <ok>")
        return "flashed"

    @app.get("/globals")
    async def globals_(c):  # type: ignore[no-untyped-def]
        return c.render("globals.html")

    @app.get("/no-session")
    async def no_session(c):  # type: ignore[no-untyped-def]
        return c.render("no_session.html")

    @app.get("/missing")
    async def missing(c):  # type: ignore[no-untyped-def]
        return c.render("nope/missing.html")

    return TestClient(app)


def test_render_answers_html_with_autoescaped_values(templates: Path) -> None:
    response = make(templates).get("/hello?name=<script>alert(1)</script>")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_non_html_templates_are_not_escaped(templates: Path) -> None:
    assert make(templates).get("/plain?name=<b>").text == "Hello <b>"


def test_inheritance_status_and_headers(templates: Path) -> None:
    response = make(templates).get("/child")
    assert response.status_code == 201
    assert response.text == "<title>T</title>B"
    assert response.headers["x-extra"] == "1"


def test_templates_see_c_session_flashes_csrf_field_and_nonce(templates: Path) -> None:
    client = make(
        templates,
        secure_headers(content_security_policy={"script-src": [NONCE]}),
        session(),
        csrf(),
    )
    client.get("/flash")
    response = client.get("/globals")
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].rstrip("'")
    assert "path=/globals user=ann flash=saved &lt;ok&gt;" in response.text
    assert '<input type="hidden" name="_token" value="' in response.text
    assert response.text.endswith(f"nonce={nonce}")
    again = client.get("/globals")
    assert "flash=None" in again.text


def test_csrf_token_in_a_template_is_masked_afresh_and_verifies(templates: Path) -> None:
    (templates / "meta.html").write_text('<meta name="csrf-token" content="{{ csrf_token() }}">')
    app = MicroWeb()
    app.use(session(), csrf(), jinja(templates))
    app.get("/meta", lambda c: c.render("meta.html"))
    app.get("/raw", lambda c: c.get("session").token())
    app.post("/action", lambda c: "done")
    client = TestClient(app)

    first, second = (client.get("/meta").text.split('content="')[1][:-2] for _ in range(2))

    assert first != second
    assert client.get("/raw").text not in first + second
    for token in (first, second):
        assert client.post("/action", headers={"x-csrf-token": token}).text == "done"


def test_templates_work_without_a_session(templates: Path) -> None:
    assert make(templates).get("/no-session").text == "s=None f=0"


def test_a_missing_template_is_a_logged_500_that_leaks_no_path(
    templates: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = make(templates).get("/missing")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "missing.html" not in response.text
    assert str(templates) not in response.text
    assert any("nope/missing.html" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_templates_are_compiled_once(templates: Path) -> None:
    app = MicroWeb()
    engine = jinja(templates)
    app.use(engine)
    app.get("/", lambda c: c.render("hello.html", {"name": "x"}))
    client = TestClient(app)
    client.get("/")
    first = engine.env.get_template("hello.html")
    client.get("/")
    assert engine.env.get_template("hello.html") is first


def test_render_without_the_middleware_says_what_to_add() -> None:
    app = MicroWeb()

    @app.get("/")
    async def home(c):  # type: ignore[no-untyped-def]
        with pytest.raises(RuntimeError, match=r"app.use\(jinja"):
            c.render("x.html")
        return "checked"

    assert TestClient(app).get("/").text == "checked"


def test_a_missing_directory_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        jinja(tmp_path / "none")
