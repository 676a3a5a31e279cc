"""Loading a row by its primary key, the one query every domain service starts from.

Polar's `kit/repository/base.py` gives each repository `get_by_id`; ours is one function, so each
domain's `get` says only what it loads and how a missing one is named in the 404.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.orm import Session

from app.kit.errors import NotFound
from app.models.base import Base

ModelT = TypeVar("ModelT", bound=Base)


def get_or_404(session: Session, model: type[ModelT], row_id: uuid.UUID, label: str) -> ModelT:
    """The row, or a 404 `No <label> <id>` (the identity map answers without a query when it can)."""
    found = session.get(model, row_id)
    if found is None:
        raise NotFound(f"No {label} {row_id}")
    return found
