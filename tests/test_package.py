"""The package's public names: no name a package exports shadows one of its modules."""

from __future__ import annotations

import importlib
import os
import pkgutil
import types
from pathlib import Path

import microweb


def test_no_public_name_shadows_a_module_of_the_package() -> None:
    shadowed = []
    packages = [microweb]
    while packages:
        package = packages.pop()
        for info in pkgutil.iter_modules(package.__path__):
            if info.name == "__main__":
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            bound = getattr(package, info.name)
            if bound is not module:
                shadowed.append(f"{module.__name__} is {type(bound).__name__}")
            if info.ispkg:
                packages.append(module)
    assert shadowed == []


def test_importing_a_module_by_its_dotted_name_gives_the_module() -> None:
    import microweb.csrf_protection as csrf_module
    import microweb.middleware._cors as cors_module

    assert isinstance(csrf_module, types.ModuleType)
    assert isinstance(cors_module, types.ModuleType)
    assert microweb.csrf is csrf_module.csrf


def test_microweb_compiled_says_which_build_is_running() -> None:
    # `make test-compiled` sets MICROWEB_EXPECT_COMPILED=1 and runs this suite against
    # the mypyc-compiled wheel; `make test` runs it against the source tree.
    import microweb.context

    expect_compiled = os.environ.get("MICROWEB_EXPECT_COMPILED") == "1"
    assert microweb.compiled is expect_compiled
    source = microweb.context.__file__ or ""
    assert source.endswith(".py") is not expect_compiled
    if expect_compiled:
        # the installed wheel, not the source tree beside the tests
        assert Path(source).parent != Path(__file__).resolve().parents[1] / "microweb"
