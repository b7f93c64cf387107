"""Typed shared state: ``hub.data`` keyed by ``HubKey[T]`` so a reader gets a ``T``, not ``Any``.

A provider declares its key once (in its ``const.py``) and offers one accessor; readers call
the accessor. A ``HubKey`` is a ``str`` (the name shows in logs and ``in`` checks work).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

_T = TypeVar("_T")
_D = TypeVar("_D")


class HubKey(str, Generic[_T]):
    """A key of ``hub.data`` that carries the type of its value."""

    __slots__ = ()


class HubData(dict[str, Any]):
    """``hub.data``: a plain dict whose lookups by ``HubKey[T]`` are typed ``T``."""

    @overload
    def __getitem__(self, key: HubKey[_T]) -> _T: ...

    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key)

    @overload
    def __setitem__(self, key: HubKey[_T], value: _T) -> None: ...

    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)

    @overload  # type: ignore[override]
    def get(self, key: HubKey[_T], default: None = None) -> _T | None: ...

    @overload
    def get(self, key: HubKey[_T], default: _D) -> _T | _D: ...

    @overload
    def get(self, key: str, default: Any = None) -> Any: ...

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, default)

    @overload
    def pop(self, key: HubKey[_T], default: None = None) -> _T | None: ...

    @overload
    def pop(self, key: str, default: Any = None) -> Any: ...

    def pop(self, key: str, default: Any = None) -> Any:
        return super().pop(key, default)
