"""PATCH semantics every update shares: only the fields sent change, and a required field cannot be nulled.

Pydantic makes every field of an update schema optional so "not sent" and "sent as null" both parse; this is
where the two part ways, once, instead of a loop over required names in every service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from app.kit.errors import field_error


def changes_of(data: BaseModel, required: Iterable[str], *, mode: Literal["python", "json"] = "python",
               message: str = "may not be null") -> dict[str, Any]:
    """The fields the caller sent, by name; a field error naming the first required one sent as null."""
    changes = data.model_dump(exclude_unset=True, mode=mode)
    for name in required:
        if name in changes and changes[name] is None:
            raise field_error(name, message)
    return changes
