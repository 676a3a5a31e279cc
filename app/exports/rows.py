"""Read a whole table fast, for the NDJSON archive: a raw DB-API cursor and one converter per column.

Why not SQLAlchemy's result rows: profiling the whole-clinic export put most of its time in per-value result
processing (`json.loads` of every JSON column, `uuid.UUID(...)` of every id stored as hex on SQLite,
`datetime.replace(tzinfo=UTC)` per timestamp, the `Row` machinery around them), not in writing. Here each value
becomes exactly what `orjson` needs to write the same JSON text the ORM's objects would have produced
(`tests/exports/test_archive_rows.py` proves the archive bytes are identical to the ORM path's), with no
intermediate `UUID` or `datetime` objects where the database already hands over text:

* SQLite stores a UUID as 32 hex digits, a timestamp as ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC, no offset), a
  time as ``HH:MM:SS.ffffff``, a boolean as 0/1 and JSON as text: each is reshaped by slicing or parsed by orjson.
* PostgreSQL's rows are streamed in binary chunks (see `_streamed_rows`); psycopg's C loaders
  already return UUIDs, dates and timestamps that orjson writes natively; the session's time zone is set to UTC
  for the snapshot so offsets read ``+00:00``, and JSON is parsed by orjson instead of the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson
from psycopg import capabilities
from psycopg.types.json import set_json_loads
from sqlalchemy import JSON, Boolean, Column, Table, Time, Uuid, bindparam, select
from sqlalchemy.engine import Connection

from app.models.base import UTCDateTime

BATCH = 1000
Converter = Callable[[Any], Any]


def _sqlite_uuid(value: str) -> str:
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _sqlite_timestamp(value: str) -> str:
    # Written by SQLAlchemy's SQLite DATETIME as "2026-12-01 17:00:00.123456"; isoformat() drops a zero fraction.
    fraction = value[20:26]
    return f"{value[:10]}T{value[11:19]}{'' if not fraction or fraction == '000000' else '.' + fraction}+00:00"


def _sqlite_time(value: str) -> str:
    fraction = value[9:15]
    return value[:8] if not fraction or fraction == "000000" else f"{value[:8]}.{fraction}"


def _converter(column: Column[Any], dialect: str) -> Converter | None:
    """What turns the driver's value for this column into the value the archive writes; None: use it as is."""
    kind = column.type
    if dialect != "sqlite":
        return None  # psycopg's own loaders; JSON is switched to orjson on the cursor
    if isinstance(kind, Uuid):
        return _sqlite_uuid
    if isinstance(kind, UTCDateTime):
        return _sqlite_timestamp
    if isinstance(kind, Time):
        return _sqlite_time
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, JSON):
        return orjson.loads
    return None  # text, numbers, and dates (stored as YYYY-MM-DD, which is their isoformat())


def change_stamp(table: Table) -> Column[Any] | None:
    """The column that says when a row last changed, which a `since` export filters on (None: every row goes)."""
    return next((table.c[name] for name in ("updated_at", "created_at", "occurred_at") if name in table.c), None)


def table_rows(conn: Connection, table: Table, columns: list[Column[Any]],
               since: datetime | None) -> Iterator[dict[str, Any]]:
    """Every row of `table` (those changed after `since`, where the table has a time stamp), in primary-key
    order, as a dict of the named columns' plain values. Runs inside the caller's snapshot transaction."""
    stmt = select(*columns).order_by(*table.primary_key.columns)
    stamp = change_stamp(table)
    bound: dict[str, Any] = {}
    if since is not None and stamp is not None:
        stmt = stmt.where(stamp > bindparam("since"))
        # Through the column's own type, as the ORM would bind it (SQLite: offset-free UTC text).
        to_db = stamp.type.bind_processor(conn.dialect)
        bound["since"] = to_db(since) if to_db else since
    dialect = conn.dialect.name
    compiled = stmt.compile(dialect=conn.dialect)
    make_row = _row_maker([c.key for c in columns], [_converter(c, dialect) for c in columns])
    raw: Any = conn.connection.driver_connection  # psycopg.Connection or sqlite3.Connection
    if dialect == "postgresql":
        yield from map(make_row, _streamed_rows(raw, str(compiled), bound))
        return
    cursor = raw.cursor()
    cursor.execute(str(compiled), [bound[name] for name in compiled.positiontup or []])
    try:
        while batch := cursor.fetchmany(BATCH):
            yield from map(make_row, batch)
    finally:
        cursor.close()


def _streamed_rows(raw: Any, sql: str, bound: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The query's rows streamed in chunks of `BATCH` (libpq's chunked-rows mode), binary, parsed by psycopg's C
    loaders.

    The previous reader, a server-side cursor fetched 1,000 rows at a time in text, spent most of the export in
    those fetch round trips and in per-value Python; `COPY ... TO STDOUT (FORMAT BINARY)` was three times faster
    but still paid a libpq call and a Python generator step per row. One streamed query in binary chunks reads
    the same tables fastest (`bench/export_bench.py`) and holds one chunk at a time. Timestamps come back in the
    session's zone, set to UTC for the rest of the snapshot as the ORM path writes them; JSON is parsed by orjson.
    """
    with raw.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        set_json_loads(orjson.loads, cursor)
        # Chunks need libpq 17 (psycopg[binary] bundles it); an older system libpq streams row by row instead.
        size = BATCH if capabilities.has_stream_chunked() else 1
        yield from cursor.stream(sql, bound, binary=True, size=size)


def _row_maker(keys: list[str], converters: list[Converter | None]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """One function per table that turns a driver row into the archive's dict, e.g.
    `lambda r: {"id": c0(r[0]) if r[0] is not None else None, "name": r[1]}`: written out once per table, so the
    per-row work is one dict display, with no loop over the columns and no intermediate list."""
    names: dict[str, Any] = {}
    items = []
    for i, (key, convert) in enumerate(zip(keys, converters, strict=True)):
        if convert is None:
            items.append(f"{key!r}: r[{i}]")
        else:
            names[f"c{i}"] = convert
            items.append(f"{key!r}: (None if r[{i}] is None else c{i}(r[{i}]))")
    maker: Callable[[tuple[Any, ...]], dict[str, Any]] = eval(f"lambda r: {{{', '.join(items)}}}", names)
    return maker
