""""Last used" stamps (bearer tokens, API keys) kept off the request's own transaction where it can be.

Resolving a credential only notes the time on the session. At commit the stamps are written with the
audit rows: a pure read hands them to the audit group commit (one UPDATE per credential per batch, in the
batch's transaction, which the read already waits for), so a read never becomes a write because its token
was used; a request that writes anyway writes them in its own transaction. Either way the stamp is durable
before the answer, so the idle timeout seen by every process is exact to the touch interval of the caller.
A failed request's stamps are dropped with its transaction (a refused request revives nothing).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.orm import Session

_PENDING = "last_use_pending"

Stamps = dict[tuple[Table, uuid.UUID], datetime]


def note(session: Session, model: type[Any], row_id: uuid.UUID, when: datetime) -> None:
    """Stamp the `model` row `row_id` (a `last_used_at` column) with `when` at this session's commit."""
    stamps: Stamps = session.info.setdefault(_PENDING, {})
    key = (model.__table__, row_id)
    if key not in stamps or stamps[key] < when:
        stamps[key] = when


def pop(session: Session) -> Stamps:
    stamps: Stamps = session.info.pop(_PENDING, {})
    return stamps


def merge(into: Stamps, more: Stamps) -> None:
    for key, when in more.items():
        if key not in into or into[key] < when:
            into[key] = when


def write(session: Session, stamps: Stamps) -> None:
    """One executemany UPDATE per table, rows in id order (two batches never lock them in opposite orders);
    a stamp never moves a row's time backwards."""
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for (table, row_id), when in sorted(stamps.items(), key=lambda item: (item[0][0].name, item[0][1])):
        by_table.setdefault(table, []).append({"row_id": row_id, "when": when})
    for table, params in by_table.items():
        statement = (update(table)
                     .where(table.c.id == bindparam("row_id"),
                            or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("when")))
                     .values(last_used_at=bindparam("when")))
        session.connection().execute(statement, params)
