"""The package's public names: no name a package exports shadows one of its modules."""

from __future__ import annotations

import importlib
import pkgutil
import types

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
