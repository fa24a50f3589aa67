"""docs/architecture.md is the map of the package: every module under microweb/ is
named in it, as its path in backticks, so a new module cannot go unmapped."""

from __future__ import annotations

import re
from pathlib import Path

import microweb

ROOT = Path(__file__).resolve().parent.parent
# The package the suite runs on: the source tree, or an installed wheel (whose compiled
# build keeps each module's source beside its extension).
PACKAGE = Path(microweb.__file__).parent
DOC = ROOT / "docs" / "architecture.md"


def documented_name(module: Path) -> str:
    """How the map names `module`: its path under microweb/ (`sessions/store_redis.py`)."""
    return module.relative_to(PACKAGE).as_posix()


def test_every_module_is_named_in_the_architecture_doc() -> None:
    spans = set(re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8")))
    modules = sorted(documented_name(p) for p in PACKAGE.rglob("*.py"))
    assert len(modules) > 50  # the walk found the package
    missing = [name for name in modules if name not in spans]
    assert not missing, (
        "docs/architecture.md does not name these modules; add each, as `path.py` in "
        f"backticks, to the list of its package under 'Every module, by package': {missing}"
    )


def test_every_module_the_doc_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = {
        span
        for span in re.findall(r"`([^`\s]+\.py)`", text)
        if not span.startswith(("tests/", "microweb/")) and "<" not in span  # not a pattern
    }
    stale = sorted(span for span in named if not (PACKAGE / span).is_file())
    assert not stale, f"docs/architecture.md names modules that do not exist: {stale}"
