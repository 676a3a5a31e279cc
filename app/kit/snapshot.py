"""A long read that sees one moment of the database and holds no lock writers wait for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read snapshot (a whole archive, a bulk export) that never blocks writers.

    PostgreSQL: a REPEATABLE READ transaction. SQLite (WAL): a deferred transaction on a connection of
    its own (the app's engine starts BEGIN IMMEDIATE, which would stop every write during the export).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
        return
    reader = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(reader, "connect")
    def _autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(reader, "begin")
    def _deferred(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    try:
        with reader.connect() as conn, conn.begin():
            yield conn
    finally:
        reader.dispose()
