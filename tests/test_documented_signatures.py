"""The options table of docs/middleware.md against the code: every factory's options,
names and defaults, as `inspect.signature` reads them, and every docstring listing them."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import microweb
import microweb.middleware as middleware
from microweb import csrf

DOC = Path(__file__).resolve().parents[1] / "docs" / "middleware.md"
ROW = re.compile(r"^\| `(\w+)` \| (`[^`]+`|\(no options\)) \|(.*)\|(.*)\|(.*)\|$")
FACTORIES = {
    name: getattr(middleware, name)
    for name in middleware.__all__
    if name
    not in {"NONCE", "RequestIdFilter", "csp_nonce", "end_time", "get_context"}
    | {"set_metric", "start_time", "timer"}
}
FACTORIES["csrf"] = csrf


def documented() -> dict[str, dict[str, str]]:
    """middleware -> option -> the default as the table writes it."""
    table: dict[str, dict[str, str]] = {}
    section = DOC.read_text().split("## Options at a glance", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        name, option, _type, _unit, default = match.groups()
        options = table.setdefault(name, {})
        if option != "(no options)":
            options[option.strip("`")] = default.strip().strip("`")
    return table


def in_code(factory: Any) -> dict[str, str]:
    """option -> its default written as the table writes it."""
    options: dict[str, str] = {}
    for param in inspect.signature(factory).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            options["*" + param.name] = "-"
        elif param.kind is param.VAR_KEYWORD:
            options["**" + param.name] = "-"
        elif param.default is param.empty:
            options[param.name] = "required"
        else:
            options[param.name] = repr(param.default)
    return options


def test_the_table_lists_every_factory() -> None:
    assert sorted(documented()) == sorted(FACTORIES)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_the_table_lists_each_option_with_its_default(name: str) -> None:
    table = documented()[name]
    code = in_code(FACTORIES[name])
    assert list(table) == list(code), f"{name}: the table's options differ from the code's"
    for option, default in code.items():
        written = table[option]
        if default in ("required", "-"):
            assert written == default, f"{name}({option}): the table says {written}"
        else:
            value = inspect.signature(FACTORIES[name]).parameters[option].default
            assert ast.literal_eval(written) == value, f"{name}({option}): {written} != {default}"


@pytest.mark.skipif(
    microweb.compiled,
    reason="mypyc keeps no docstrings in compiled functions (docs/deploy.md); the pure "
    "build, the same source, is checked",
)
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_each_docstring_lists_its_options(name: str) -> None:
    factory = FACTORIES[name]
    doc = inspect.getdoc(factory.__init__ if isinstance(factory, type) else factory) or ""
    doc += inspect.getdoc(factory) or ""
    for option in in_code(factory):
        assert f"`{option}`" in doc, f"{name}'s docstring does not list `{option}`"
