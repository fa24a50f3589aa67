"""Options are checked when the middleware is built, with clear messages."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from microweb import MicroWeb
from microweb.sessions import SessionMiddleware, session
from microweb.testing import TestClient


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"driver": "mongo"}, "unknown session driver 'mongo'"),
        ({"lifetime": 0}, "lifetime must be a positive number"),
        ({"lifetime": -5}, "lifetime must be a positive number"),
        ({"absolute_lifetime": 0}, "absolute_lifetime must be a positive number"),
        (
            {"same_site": "sometimes"},
            "same_site must be 'lax', 'strict' or 'none', got 'sometimes'",
        ),
        ({"same_site": 5}, "same_site must be 'lax', 'strict' or 'none', got 5"),
        ({"same_site": None}, "needs a SameSite attribute: same_site must be 'lax'"),
        ({"same_site": ""}, "needs a SameSite attribute: same_site must be 'lax'"),
        (
            {"same_site": "none", "secure": False},
            "same_site='none' requires secure=True (browsers drop it otherwise)",
        ),
        ({"driver": "cookie"}, "requires secret"),
        ({"secret": ""}, "secret must be"),
        ({"secret": []}, "secret must be"),
        ({"cookie": "bad name"}, "Invalid cookie name: 'bad name'"),
        ({"cookie": "__Host-s", "secure": False}, "A cookie named '__Host-s' requires secure=True"),
        ({"cookie": "__Secure-s", "secure": False}, "named '__Secure-s' requires secure=True"),
        ({"cookie": "__Host-s", "path": "/app"}, "named '__Host-s' requires path='/'"),
        ({"cookie": "__Host-s", "domain": "example.com"}, "requires path='/' and no domain"),
        ({"path": "/a;b"}, "Invalid cookie path"),
        ({"domain": "a\r\nb"}, "Invalid cookie domain"),
        ({"driver": "redis", "prefix": ""}, "prefix must be a non-empty string"),
        ({"max_sessions": 0}, "max_sessions"),
        ({"driver": "sqlite", "sweep_every": 0}, "sweep_every must be a positive number"),
        ({"driver": "memory", "durable": True}, "durable=True needs driver='redis'"),
        ({"driver": "redis", "durable": True, "durable_timeout": 0}, "durable_timeout must be"),
        ({"driver": "redis", "prefix": "a{b}"}, "must not contain '{' or '}'"),
    ],
)
def test_invalid_option_is_a_clear_value_error(options: dict[str, Any], message: str) -> None:
    for build in (lambda: session(**options), lambda: SessionMiddleware(MicroWeb(), **options)):
        with pytest.raises(ValueError) as raised:
            build()
        assert str(raised.value).startswith("session(): ")
        assert message in str(raised.value)


def test_a_misspelt_option_is_a_type_error_naming_session() -> None:
    with pytest.raises(
        TypeError, match=r"^session\(\) got an unexpected keyword argument 'lifetim'"
    ):
        session(lifetim=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'lifetim'"):
        SessionMiddleware(MicroWeb(), lifetim=5)  # type: ignore[call-arg]


def test_an_option_given_by_position_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="positional"):
        session("redis")  # type: ignore[misc]


def test_fractional_lifetime_is_accepted() -> None:
    assert session(lifetime=0.05).manager.idle_s == pytest.approx(3.0)


def test_same_site_is_case_insensitive() -> None:
    app = MicroWeb()
    app.use(session(same_site="Strict"))

    @app.get("/")
    async def home(c: Any) -> str:
        c.get("session").put("a", 1)
        return "ok"

    cookie = TestClient(app).get("/").headers["set-cookie"]
    assert "SameSite=Strict" in cookie


def _documented_options() -> dict[str, list[str]]:
    """The Options table of docs/sessions.md: each option name, with the defaults its
    row gives (as written, in backticks)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "sessions.md").read_text()
    table = doc.split("## Options", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("option", "---"):
            continue
        # "`url` / `client` | the driver's / `None`": a default for each side of the slash
        for names_part, defaults_part in zip(
            cells[0].split(" / "), cells[1].split(" / "), strict=False
        ):
            names = re.findall(r"`(\w+)`", names_part)
            defaults = re.findall(r"`([^`]+)`", defaults_part)
            for i, name in enumerate(names):
                default = defaults[i] if len(defaults) == len(names) else ""
                found.setdefault(name, []).append(default)
    return found


def test_the_options_table_lists_every_option_with_its_default() -> None:
    documented = _documented_options()
    parameters = inspect.signature(session).parameters
    assert set(documented) == set(parameters)
    assert list(inspect.signature(SessionMiddleware).parameters)[1:] == list(parameters)
    for name, defaults in documented.items():
        parameter = parameters[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        written = [d for d in defaults if d]
        if name == "url":  # each driver's own default, in the row of each driver
            continue
        assert written, f"the table gives no default for {name}"
        assert ast.literal_eval(written[0]) == parameter.default, name
