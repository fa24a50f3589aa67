"""Every Python code block in README.md and docs/*.md runs as written (Sybil parses them).

- The blocks of one page run in order in one namespace, as a reader copies them top
  to bottom: a block may use what an earlier block of its page defined.
- A page runs in a fresh working directory holding `templates/` and `static/`, copied
  from examples/ (what a block's `jinja("templates")` or `serve_static(root="static")`
  expects to find), with the environment variables a reader has on this machine.
- A block whose first line names a file (`# hello.py`) is also saved under that name,
  as the reader does, so a later block may import it (`from hello import app`).
- A block that shows a piece of a larger app (a `...` body, names defined elsewhere) is
  marked `<!-- fragment -->` on the line before it, and is compiled, not run.
- Every `test_*` function a block defines is called right after the block, with the
  page's own pytest fixtures for its parameters: a page that shows how to test an app
  proves that its test passes.
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
from pathlib import Path
from typing import Any

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FRAGMENT = "<!-- fragment -->"

sybil = Sybil(parsers=[PythonCodeBlockParser()])


def is_fragment(text: str, start: int) -> bool:
    """Whether the block starting at `start` (its fence, or its first line) is marked."""
    before = text[:start].rstrip()
    if before.endswith("```python"):
        before = before[: -len("```python")].rstrip()
    return before.endswith(FRAGMENT)


def saved_as(source: str) -> str | None:
    """The file name a block names on its first line (`# hello.py`), if any."""
    first = source.lstrip().partition("\n")[0]
    name = first.removeprefix("# ").strip()
    return name if first.startswith("# ") and name.endswith(".py") and "/" not in name else None


def run_test(test: Any, namespace: dict[str, Any]) -> None:
    """Call a test a page defined, with the page's own pytest fixtures for its parameters,
    each made once, and those that yield finished after the test, as pytest does."""
    made: dict[str, Any] = {}

    def fixture(name: str, finish: contextlib.ExitStack) -> Any:
        if name not in made:
            definition = namespace[name]
            function = inspect.unwrap(definition._get_wrapped_function())
            arguments = {p: fixture(p, finish) for p in inspect.signature(function).parameters}
            value = function(**arguments)
            if inspect.isgenerator(value):
                generator = value
                value = next(generator)
                finish.callback(next, generator, None)
            made[name] = value
        return made[name]

    with contextlib.ExitStack() as finish:
        test(**{name: fixture(name, finish) for name in inspect.signature(test).parameters})


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_code_block_of_the_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("templates", "static"):
        shutil.copytree(ROOT / "examples" / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    document = sybil.parse(page)

    for example in document:
        where = f"{page.relative_to(ROOT)}, line {example.line}"
        source = str(example.parsed)
        if is_fragment(document.text, example.start):
            compile(source, where, "exec")
            continue
        name = saved_as(source)
        if name is not None:
            (tmp_path / name).write_text(source)
        tests_before = {k: v for k, v in document.namespace.items() if k.startswith("test_")}
        try:
            example.evaluate()
        except Exception as err:
            raise AssertionError(f"The code block at {where} failed: {err!r}") from err
        for name, value in list(document.namespace.items()):
            if name.startswith("test_") and callable(value) and tests_before.get(name) is not value:
                run_test(value, document.namespace)  # while the names are the block's
