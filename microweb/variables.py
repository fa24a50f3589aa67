"""`c.var`: a read-only view of the context variables, by key or as attributes.

Interpreted in the compiled build: mypyc compiles no `__getattr__` in a class whose base
(`Mapping`) is a Python class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Vars(Mapping[str, Any]):
    """A read-only view of the context variables; `c.var.session` works too."""

    __slots__ = ("_variables",)

    def __init__(self, variables: dict[str, Any]) -> None:
        self._variables = variables

    def __getitem__(self, key: str) -> Any:
        return self._variables[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._variables[key]
        except KeyError:
            raise AttributeError(f"No context variable {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)
