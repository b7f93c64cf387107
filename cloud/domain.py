"""Shared shapes for domain operations: refusals (Execute / CanExecute) and input errors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Refusal:
    """Why an operation would not run; `can_execute` returns one, `execute` raises one."""

    code: str
    message: str
    status: int = 409


class RefusedError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


@dataclass
class InputErrors(Exception):
    """User input that cannot be used, with a message per field."""

    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{name}: {message}" for name, message in self.fields.items())
