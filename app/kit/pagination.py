"""Capped keyset (cursor) pages: stable under concurrent inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Date, Integer, Select, String, Uuid, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.kit.errors import field_error
from app.models.base import UTCDateTime

T = TypeVar("T")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> PageParams:
    return PageParams(limit, cursor)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def _encode(values: Sequence[Any]) -> str:
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else str(v) if isinstance(v, uuid.UUID) else v

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, columns: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    """Values of a cursor, each checked against its column's type: a forged cursor is a 422, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        return [_value(value, col.type) for value, col in zip(values, columns, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise field_error("cursor", "invalid cursor; use next_cursor from the previous page") from exc


def _value(value: Any, kind: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, Uuid | UTCDateTime | Date | String) and not isinstance(value, str):
        raise TypeError
    if isinstance(kind, Uuid):
        return uuid.UUID(value)
    if isinstance(kind, UTCDateTime):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
            raise TypeError
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError
        return value
    raise TypeError


def paginate(session: Session, stmt: Select[Any], order_by: Sequence[InstrumentedAttribute[Any]],
             params: PageParams, *, descending: bool = False) -> tuple[list[Any], str | None]:
    """Rows of `stmt` after the cursor, ordered by `order_by` (which must end in a unique column)."""
    if params.cursor:
        after = _decode(params.cursor, order_by)
        key = tuple_(*order_by)
        stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
    stmt = stmt.order_by(*[c.desc() if descending else c.asc() for c in order_by]).limit(params.limit + 1)
    rows = list(session.scalars(stmt))
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, _encode([getattr(last, c.key) for c in order_by])
