"""The archive's fast reader (raw cursor, a converter per column) writes exactly what the ORM's rows would."""

from __future__ import annotations

from datetime import UTC, datetime, time

import orjson
import pytest
from sqlalchemy import update

from app.exports import archive, rows
from app.exports.rows import _sqlite_time, _sqlite_timestamp, _sqlite_uuid, table_rows
from app.kit.snapshot import snapshot
from app.models import Base
from tests.fhir.test_fhir import seeded  # noqa: F401  (the realistic chart fixture)

OPTIONS = archive._ORJSON


def _both(engine, since):
    """Per table: the fast reader's NDJSON and the ORM path's (typed rows turned into plain values)."""
    out = {}
    with snapshot(engine) as conn:
        for table in archive.archived_tables():
            columns = archive.exported_columns(table, "ndjson")
            fast = b"".join(orjson.dumps(row, option=OPTIONS) for row in table_rows(conn, table, columns, since))
            typed = b"".join(orjson.dumps(row, option=OPTIONS) for row in archive._rows(conn, table, since, "ndjson"))
            out[table.name] = (fast, typed)
    return out


def test_every_table_reads_byte_for_byte_as_the_orm_would(seeded, app):  # noqa: F811
    engine = app.state.engine
    # A value the seeded chart would not hold: a timestamp on a whole second (isoformat drops the fraction).
    with engine.begin() as conn:
        conn.execute(update(Base.metadata.tables["patients"]).values(
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    tables = _both(engine, None)
    assert tables["treatments"][0] and tables["audit_events"][0] and tables["clinical_revisions"][0]
    for name, (fast, typed) in tables.items():
        assert fast == typed, name


@pytest.mark.parametrize("chunked", [True, False], ids=["chunks-of-3", "row-by-row"])
def test_rows_read_across_many_chunks_and_without_chunked_streaming_as_the_orm_would(seeded, app, monkeypatch,  # noqa: F811
                                                                                    chunked):
    """Chunks of 3 make every table cross chunk boundaries; "row-by-row" is PostgreSQL behind a libpq older than
    17, which cannot stream in chunks (SQLite fetches in batches either way)."""
    monkeypatch.setattr(rows, "BATCH", 3)
    if not chunked:
        monkeypatch.setattr(rows.capabilities, "has_stream_chunked", lambda: False)
    tables = _both(app.state.engine, None)
    assert tables["audit_events"][0].count(b"\n") > 3
    for name, (fast, typed) in tables.items():
        assert fast == typed, name


def test_since_reads_only_later_rows_as_the_orm_would(seeded, app):  # noqa: F811
    engine = app.state.engine
    middle = datetime.now(UTC)
    tables = _both(engine, middle)
    for name, (fast, typed) in tables.items():
        assert fast == typed, name
    everything = _both(engine, datetime(2000, 1, 1, tzinfo=UTC))
    assert everything["patients"][0] and everything["patients"][0] == _both(engine, None)["patients"][0]


@pytest.mark.parametrize(("stored", "written"), [
    ("2026-12-01 17:00:00.123456", datetime(2026, 12, 1, 17, 0, 0, 123456, tzinfo=UTC)),
    ("2026-12-01 17:00:00.000000", datetime(2026, 12, 1, 17, 0, tzinfo=UTC)),
    ("2026-12-01 17:00:00", datetime(2026, 12, 1, 17, 0, tzinfo=UTC)),
    ("2026-12-01 17:00:00.000010", datetime(2026, 12, 1, 17, 0, 0, 10, tzinfo=UTC)),
])
def test_sqlite_timestamps_read_as_their_isoformat(stored, written):
    assert orjson.dumps(_sqlite_timestamp(stored)) == orjson.dumps(written)


@pytest.mark.parametrize(("stored", "written"), [
    ("08:30:00.000000", time(8, 30)), ("08:30:00", time(8, 30)), ("08:30:15.250000", time(8, 30, 15, 250000)),
])
def test_sqlite_times_read_as_their_isoformat(stored, written):
    assert orjson.dumps(_sqlite_time(stored)) == orjson.dumps(written)


def test_sqlite_uuids_read_hyphenated():
    assert _sqlite_uuid("0192f3a8b7c47d2e9f0a1b2c3d4e5f60") == "0192f3a8-b7c4-7d2e-9f0a-1b2c3d4e5f60"
