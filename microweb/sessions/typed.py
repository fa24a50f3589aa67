"""`TypedSession`: declare session fields with types and defaults, checked by mypy.

    class Cart(TypedSession):
        visits: int = 0
        items: list[str] = []

    cart = Cart.of(c)          # or Cart(c.get("session"))
    cart.visits += 1           # session.put("visits", ...)
    cart.items.append("tea")   # a nested change, saved like any other

Each annotated class attribute becomes a field stored under its own name in
the session. Reading a missing field gives its default; a mutable default
(list, dict, set) is copied and stored first, so changes to it are kept. A
field without a default reads as None when missing.
"""

from __future__ import annotations

import copy
import inspect
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from ..context import Context
    from .session_view import Session

__all__ = ["TypedSession"]

_MISSING: Any = object()


def _is_classvar(annotation: Any) -> bool:
    """True for `ClassVar[...]`, given as an object or (with postponed annotations) a string."""
    if isinstance(annotation, str):
        return annotation.replace("typing.", "").startswith("ClassVar")
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


class _Field:
    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def __get__(self, obj: TypedSession | None, owner: type) -> Any:
        if obj is None:
            return self
        session = obj.session
        if self.name in session:
            return session[self.name]
        if self.default is _MISSING:
            return None
        if isinstance(self.default, list | dict | set):
            value = copy.deepcopy(self.default)
            session.put(self.name, value)
            return value
        return self.default

    def __set__(self, obj: TypedSession, value: Any) -> None:
        obj.session.put(self.name, value)

    def __delete__(self, obj: TypedSession) -> None:
        obj.session.forget(self.name)


class TypedSession:
    """A typed view over a `Session`; subclass it and annotate the fields."""

    __slots__ = ("session",)
    __fields__: dict[str, _Field] = {}

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def of(cls, c: Context) -> Self:
        """The typed view of the request's session."""
        from .session_view import session_of

        return cls(session_of(c))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.__fields__)
        for name, annotation in inspect.get_annotations(cls).items():
            if name.startswith("_") or _is_classvar(annotation):
                continue
            default = cls.__dict__.get(name, _MISSING)
            field = _Field(name, default)
            fields[name] = field
            setattr(cls, name, field)
        cls.__fields__ = fields

    def to_dict(self) -> dict[str, Any]:
        """Every declared field with its current (or default) value."""
        return {name: getattr(self, name) for name in self.__fields__}
