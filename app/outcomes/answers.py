"""What a client may send as one item's answer, and the error that names the item it is wrong about."""

from __future__ import annotations

from typing import Any

Answer = int | float | bool | str | dict[str, Any] | None


class ScoringError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
