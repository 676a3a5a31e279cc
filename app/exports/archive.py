"""Whole-clinic archives: every table streamed row by row into a zip (NDJSON or CSV) with a manifest,
and loaded back into an empty database. Generic over the schema, so a new table is archived without
new code, and an export -> import -> export round-trips to identical files.

Memory stays flat: rows are read in batches (the CSV export through server-side cursors; the NDJSON archive
streamed in chunks on PostgreSQL, fetched in batches on SQLite) and written straight into the zip entry; only
the current batch is ever held. The NDJSON archive reads through `app.exports.rows` (raw cursor, a converter per
column); the CSV export keeps SQLAlchemy's typed rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Column, Date, Engine, Table, Time, Uuid, delete, func, insert, select
from sqlalchemy.engine import Connection

from app import migrate
from app.exports.rows import change_stamp, table_rows
from app.kit.snapshot import snapshot
from app.models import Base
from app.models.base import UTCDateTime, utcnow

ARCHIVE_VERSION = 1
# Rebuilt by migrations, or meaningless outside one running server. The work queues (export jobs, the webhook
# outbox) are left out too: restored, they would run again on the new server (re-sending old webhooks,
# re-running old exports whose files never moved with the database).
SKIPPED = {"reference_levels", "reference_muscles", "reference_conditions", "auth_tokens", "login_attempts",
           "idempotency_keys", "rate_windows", "alembic_version", "export_jobs", "webhook_deliveries",
           "worker_heartbeats"}
# Credentials never leave in the CSV export (made for other software, not for restoring this one). The NDJSON
# archive keeps them: a restore must keep staff able to sign in, API keys working and webhooks signed.
SECRET_COLUMNS = {"password_hash", "token_hash", "key_hash", "secret"}
SEEDED = {"clinic", "counters", "audit_chain_heads",  # exist after migration: replaced on import
          "appointment_types"}
BATCH = 1000
# zlib's fastest level: deflate at the default level 6 cost more than reading and serialising the rows together,
# for an archive only ~15 % smaller. Any zip reader inflates it the same.
COMPRESS_LEVEL = 1
# orjson writes datetimes, dates, times and UUIDs exactly as their isoformat()/str() would, keys sorted: the same
# JSON values as json.dumps(sort_keys=True) (non-ASCII text as UTF-8 rather than \u escapes), several times faster.
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula. Such text
# cells are written with a leading single quote (shown as text, the quote hidden by spreadsheet programs);
# numbers are never altered. manifest.json says so, so other software can strip the quote again.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_NEUTRALISATION = {
    "rule": "OWASP CSV injection: text cells starting with = + - @ tab or carriage return are prefixed with '",
    "prefix": "'", "triggers": list(FORMULA_TRIGGERS),
}


def csv_cell(value: Any) -> Any:
    """One CSV cell: JSON for structures, empty for NULL, a formula-looking text neutralised."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def archived_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _typed(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for column in table.columns:
        value = row.get(column.key)
        if value is not None:
            if isinstance(column.type, Uuid):
                value = uuid.UUID(value)
            elif isinstance(column.type, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(column.type, Date):
                value = date.fromisoformat(value)
            elif isinstance(column.type, Time):
                value = time.fromisoformat(value)
        out[column.key] = value
    return out


class _Hashing(io.RawIOBase):
    """Counts and hashes what is written through it into the zip entry."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data)


def exported_columns(table: Table, fmt: str) -> list[Column[Any]]:
    return [c for c in table.columns if fmt != "csv" or c.key not in SECRET_COLUMNS]


def _rows(conn: Connection, table: Table, since: datetime | None, fmt: str) -> Iterator[dict[str, Any]]:
    stmt = select(*exported_columns(table, fmt)).order_by(*table.primary_key.columns)
    stamp = change_stamp(table)
    if since is not None and stamp is not None:
        stmt = stmt.where(stamp > since)
    for row in conn.execution_options(yield_per=BATCH).execute(stmt).mappings():
        yield {k: _plain(v) for k, v in row.items()}


def write_archive(engine: Engine, out: IO[bytes], fmt: str = "ndjson", since: datetime | None = None,
                  progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Stream every archived table into a zip; returns the manifest (also stored as manifest.json)."""
    files: dict[str, Any] = {}
    neutralised = 0
    revision = migrate.current_revision(engine)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive, \
            snapshot(engine) as conn:
        for table in archived_tables():
            name = f"{table.name}.{fmt}"
            count = 0
            with archive.open(name, "w", force_zip64=True) as raw:
                sink = _Hashing(raw)
                buffered = io.BufferedWriter(sink, buffer_size=1 << 16)
                if fmt == "csv":
                    text = io.TextIOWrapper(buffered, encoding="utf-8", newline="")
                    writer = csv.writer(text)
                    writer.writerow([c.key for c in exported_columns(table, fmt)])
                    for row in _rows(conn, table, since, fmt):
                        cells = [csv_cell(v) for v in row.values()]
                        neutralised += sum(1 for c, v in zip(cells, row.values(), strict=True)
                                           if isinstance(v, str) and c is not v)
                        writer.writerow(cells)
                        count += 1
                        if progress and count % BATCH == 0:
                            progress(table.name, count)
                    text.flush()
                    text.detach()
                else:
                    write, dumps = buffered.write, orjson.dumps
                    for row in table_rows(conn, table, exported_columns(table, fmt), since):
                        write(dumps(row, option=_ORJSON))
                        count += 1
                        if progress and count % BATCH == 0:
                            progress(table.name, count)
                buffered.flush()
            files[name] = {"table": table.name, "records": count, "sha256": sink.sha.hexdigest(), "bytes": sink.size}
            if progress:
                progress(table.name, count)
        manifest = {"archive_version": ARCHIVE_VERSION, "schema_revision": revision, "format": fmt,
                    "exported_at": utcnow().isoformat(), "since": since.isoformat() if since else None,
                    "files": files}
        if fmt == "csv":
            manifest["csv_formula_neutralisation"] = {**CSV_NEUTRALISATION, "cells_prefixed": neutralised}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


class ArchiveError(Exception):
    pass


def import_archive(engine: Engine, path: Path) -> dict[str, int]:
    """Load an NDJSON whole-clinic archive into an empty, migrated database, in one transaction."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        if manifest.get("format") != "ndjson" or manifest.get("since"):
            raise ArchiveError("only a complete NDJSON archive (no since) can be restored")
        if manifest["schema_revision"] != migrate.current_revision(engine):
            raise ArchiveError(f"the archive is at schema {manifest['schema_revision']}; migrate this database "
                               "to the same revision first")
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            for table_name in ("patients", "users"):
                if conn.execute(select(func.count()).select_from(Base.metadata.tables[table_name])).scalar():
                    raise ArchiveError("the target database is not empty")
            for table in archived_tables():
                name = f"{table.name}.ndjson"
                entry = manifest["files"].get(name)
                if entry is None:
                    continue
                if table.name in SEEDED:
                    conn.execute(delete(table))
                sha, batch, count = hashlib.sha256(), [], 0
                with archive.open(name) as raw:
                    for line in raw:
                        sha.update(line)
                        batch.append(_typed(table, json.loads(line)))
                        if len(batch) >= BATCH:
                            conn.execute(insert(table), batch)
                            count, batch = count + len(batch), []
                if batch:
                    conn.execute(insert(table), batch)
                    count += len(batch)
                if sha.hexdigest() != entry["sha256"] or count != entry["records"]:
                    raise ArchiveError(f"{name} does not match its manifest checksum; the archive is damaged")
                counts[table.name] = count
        return counts
