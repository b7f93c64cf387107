"""Checking a discovery config against its frozen dataclass: each field's type and limits,
unknown keys ignored, every problem named with where it is.

Values are taken as pydantic's lax mode took them (the schema used it before; pins store
fingerprints of what it produced): numbers may come as numeric text, a whole float as an
int, a boolean as 0/1 or true/false text, an int where a float is wanted becomes a float.
A string is only a string. Pydantic itself would cost the hub ~5 MB and ~100 ms at start.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

T = TypeVar("T")
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})


class ConfigInvalid(ValueError):
    """The config does not fit its dataclass; ``problems`` are (where, what) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))


@dataclasses.dataclass(frozen=True)
class Limits:
    """What a field's value must also satisfy, beyond its type."""

    min_length: int | None = None
    max_length: int | None = None
    gt: float | None = None
    ge: float | None = None
    check: Callable[[Any], Any] | None = None  # raises ValueError, returns the value to keep
    alias: str | None = None  # the key in the config, when it is not the field's name
    one_or_many: bool = False  # a single value stands for a list of one


def limits(**kwargs: Any) -> dict[str, Limits]:
    """``dataclasses.field(metadata=limits(...))``."""
    return {"limits": Limits(**kwargs)}


Converter = Callable[[Any, str], Any]  # (value, where it is) -> the value to keep


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    key: str
    required: bool
    convert: Converter
    rules: Limits


@functools.cache
def _fields(cls: type) -> tuple[_Field, ...]:
    """Each field with its converter, worked out once per class."""
    hints = typing.get_type_hints(cls)
    made = []
    for field in dataclasses.fields(cls):
        rules = field.metadata.get("limits") or Limits()
        required = field.default is dataclasses.MISSING and (
            field.default_factory is dataclasses.MISSING
        )
        made.append(
            _Field(
                field.name,
                rules.alias or field.name,
                required,
                _converter(hints[field.name]),
                rules,
            )
        )
    return tuple(made)


def build(cls: type[T], raw: Mapping[str, Any], where: str = "") -> T:
    """``cls`` from ``raw``; ConfigInvalid lists every problem found."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for field in _fields(typing.cast(type, cls)):  # a class is hashable
        here = f"{where}.{field.key}" if where else field.key
        if field.key not in raw:
            if field.required:
                problems.append((here, "field required"))
            continue
        value = raw[field.key]
        if field.rules.one_or_many and not isinstance(value, list):
            value = [value]
        try:
            values[field.name] = _apply_limits(field.convert(value, here), field.rules)
        except ConfigInvalid as err:
            problems.extend(err.problems)
        except ValueError as err:
            problems.append((here, str(err)))
    if problems:
        raise ConfigInvalid(problems)
    made = cls(**values)
    check = getattr(made, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as err:
            raise ConfigInvalid([(where, str(err))]) from err
    return made


def _apply_limits(value: Any, rules: Limits) -> Any:
    if value is None:
        return value
    if rules.min_length is not None and len(value) < rules.min_length:
        raise ValueError(f"needs at least {rules.min_length} item(s) or character(s)")
    if rules.max_length is not None and len(value) > rules.max_length:
        raise ValueError(f"has at most {rules.max_length} characters")
    if rules.gt is not None and not value > rules.gt:
        raise ValueError(f"must be greater than {rules.gt:g}")
    if rules.ge is not None and not value >= rules.ge:
        raise ValueError(f"must be at least {rules.ge:g}")
    return rules.check(value) if rules.check is not None else value


def _converter(kind: Any) -> Converter:
    """How a value of type ``kind`` is checked and converted."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [option for option in typing.get_args(kind) if option is not type(None)]
        convert_inner = _converter(inner)
        return lambda value, where: None if value is None else convert_inner(value, where)
    if origin is Literal:
        allowed = typing.get_args(kind)
        kinds = {type(a) for a in allowed}
        message = f"must be one of {', '.join(map(repr, allowed))}"

        def literal(value: Any, where: str) -> Any:
            if value in allowed and type(value) in kinds:
                return value
            raise ValueError(message)

        return literal
    if origin is list:
        (inner,) = typing.get_args(kind)
        item = _converter(inner)

        def listing(value: Any, where: str) -> list[Any]:
            if not isinstance(value, list):
                raise ValueError("must be a list")
            return [_at(item, v, f"{where}.{n}") for n, v in enumerate(value)]

        return listing
    if origin is tuple:
        parts = [_converter(part) for part in typing.get_args(kind)]

        def pair(value: Any, where: str) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple) or len(value) != len(parts):
                raise ValueError(f"must be a list of {len(parts)}")
            pairs = enumerate(zip(parts, value, strict=True))
            return tuple(_at(part, v, f"{where}.{n}") for n, (part, v) in pairs)

        return pair
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):

        def nested(value: Any, where: str) -> Any:
            if not isinstance(value, Mapping):
                raise ValueError("must be an object")
            return build(kind, value, where)

        return nested
    scalar = _SCALARS[kind]
    return lambda value, where: scalar(value)


def _at(convert: Converter, value: Any, where: str) -> Any:
    """One item of a list: its problem is named with its position."""
    try:
        return convert(value, where)
    except ConfigInvalid:
        raise
    except ValueError as err:
        raise ConfigInvalid([(where, str(err))]) from err


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("must be a string")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a whole number")


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a number")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("must be true or false")


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    str: _string,
    int: _integer,
    float: _number,
    bool: _boolean,
}
