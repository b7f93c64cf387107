"""The ``@callback`` marker: a plain function named ``async_…`` that runs in the event loop.

The hub's naming rule (Home Assistant's): ``async_`` starts the name of a coroutine, or of
a function that must be called from the loop thread and never blocks; the latter carries
this marker so a reader (and ``tests/hub/test_naming.py``) can tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_CallableT = TypeVar("_CallableT", bound=Callable[..., Any])
_MARK = "_hub_callback"


def callback(func: _CallableT) -> _CallableT:
    """Mark ``func`` as safe to call in the loop (it neither blocks nor awaits)."""
    setattr(func, _MARK, True)
    return func


def is_callback(func: Callable[..., Any]) -> bool:
    """Whether ``func`` carries the ``@callback`` marker."""
    return getattr(func, _MARK, False) is True
