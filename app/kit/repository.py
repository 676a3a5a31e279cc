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
_KEPT = "kept_rows"


def get_and_keep(session: Session, model: type[ModelT], row_id: uuid.UUID) -> ModelT | None:
    """`session.get`, holding on to the row until the session closes.

    The identity map holds rows weakly: a row loaded only to check that it exists (the care check of every
    patient route) is dropped at once, and the route's own `get` of the same row runs the same query again.
    Kept here, the route's `get` is answered from the identity map. Only for request-sized sessions.
    """
    found = session.get(model, row_id)
    if found is not None:
        session.info.setdefault(_KEPT, []).append(found)
    return found


def get_or_404(session: Session, model: type[ModelT], row_id: uuid.UUID, label: str) -> ModelT:
    """The row, or a 404 `No <label> <id>` (the identity map answers without a query when it can)."""
    found = session.get(model, row_id)
    if found is None:
        raise NotFound(f"No {label} {row_id}")
    return found
