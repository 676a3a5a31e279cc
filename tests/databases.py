"""Throwaway test databases: migrate a template once per engine, give every test a database of its own.

SQLite: a file copy of the migrated template per test.

PostgreSQL: a database copied from the template (CREATE DATABASE ... TEMPLATE) is *reused* once its test has
ended, not dropped: every DROP DATABASE forces a cluster-wide checkpoint, and every copy writes the whole
template through the WAL, so with two xdist workers copying and dropping once per test the server spent its time
flushing, and tests on the other worker stalled behind those checkpoints (once for minutes). After a test its
database's connections are cut off, and a background thread puts it back exactly as migrated: every table
emptied (triggers off: the audit trail's append-only guards and the foreign keys), the rows the migrations
seeded copied back in, the sequences rewound. Only a database whose schema the test changed (a table, column,
index, trigger, function or database setting that is not the template's) is dropped instead, at the end.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, make_url, text

from app import migrate

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DROP_CONNECTIONS = 8  # dropped at the end from this many connections at once, which share the checkpoints

# Everything a test could change about a database's shape (as opposed to its rows). A database whose shape is
# not the template's is not reused.
SHAPE = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'
    AND n.nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL SELECT 'col:' || a.attrelid::regclass::text || '.' || a.attname || ':'
    || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text || ':'
    || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'con:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
  WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'trg:' || tgrelid::regclass::text || '.' || tgname || ':' || tgenabled::text FROM pg_trigger
  WHERE NOT tgisinternal
  UNION ALL SELECT 'fn:' || p.oid::regprocedure::text || ':' || md5(p.prosrc) FROM pg_proc p
  WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  UNION ALL SELECT 'rule:' || rulename FROM pg_rules WHERE schemaname NOT IN ('pg_catalog')
  UNION ALL SELECT 'set:' || array_to_string(setconfig, ';') FROM pg_db_role_setting
  WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) shape(x)
"""


def pg_admin_url() -> str:
    return os.environ.get("IMS_TEST_DATABASE_URL", DEFAULT_PG_URL)


def pg_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        engine = create_engine(pg_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@dataclass
class TemplateDatabase:
    kind: str
    workdir: Path
    _names: Iterator[int] = field(default_factory=itertools.count)  # next() is atomic under the GIL

    def __post_init__(self) -> None:
        # Unique per xdist worker (and per run): each worker migrates its own templates and copies only those.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.prefix = f"imst_{worker}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if self.kind == "sqlite":
            self.template_path = self.workdir / "template.db"
            migrate.upgrade(self.sqlite_url(self.template_path))
        else:
            self.template_name = f"{self.prefix}_tpl"
            self._admin_exec(f'CREATE DATABASE "{self.template_name}"')
            migrate.upgrade(self._pg_url(self.template_name))
            self._as_migrated = _Contents.of(self._dsn(self.template_name))
            # Databases ready for the next tests (made or reset in the background while a test runs), databases
            # whose test has ended (to reset), and databases to drop at the end.
            self._ready: queue.Queue[str] = queue.Queue(maxsize=2)
            self._used: queue.Queue[str] = queue.Queue()
            self._copies: set[str] = set()
            self._doomed: list[str] = []
            self._stop = threading.Event()
            self._maker = threading.Thread(target=self._keep_ready, name="pg-databases", daemon=True)
            self._maker.start()

    @staticmethod
    def sqlite_url(path: Path) -> str:
        return f"sqlite:///{path.as_posix()}"

    def _pg_url(self, name: str) -> str:
        return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)

    @staticmethod
    def _dsn(name: str | None = None) -> str:
        url = make_url(pg_admin_url()).set(drivername="postgresql")
        return (url.set(database=name) if name else url).render_as_string(hide_password=False)

    def _admin_exec(self, sql: str) -> None:
        # psycopg itself: an SQLAlchemy engine per statement cost more than the statement.
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def empty(self) -> str:
        """A brand-new database with no schema at all (for the migration tests)."""
        name = f"{self.prefix}_e{next(self._names)}"
        if self.kind == "sqlite":
            return self.sqlite_url(self.workdir / f"{name}.db")
        self._admin_exec(f'CREATE DATABASE "{name}"')
        self._doomed.append(name)  # dropped at the end even if its test never drops it
        return self._pg_url(name)

    def copy(self) -> str:
        """A migrated database of its own for one test."""
        if self.kind == "sqlite":
            name = f"{self.prefix}_{next(self._names)}"
            path = self.workdir / f"{name}.db"
            shutil.copyfile(self.template_path, path)
            return self.sqlite_url(path)
        return self._pg_url(self._ready.get(timeout=120))

    def _keep_ready(self) -> None:
        """Keep `_ready` full: reset the databases of ended tests, copy the template only when there are none."""
        while not self._stop.is_set():
            try:
                name = self._used.get(timeout=0.05 if not self._ready.full() else 0.2)
            except queue.Empty:
                if self._ready.full():
                    continue
                name = f"{self.prefix}_{next(self._names)}"
                self._admin_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
                self._copies.add(name)
            else:
                if not self._cut_off(name) or not self._as_migrated.restore(self._dsn(name)):
                    self._doomed.append(name)
                    continue
            while True:
                try:
                    self._ready.put(name, timeout=0.2)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        self._doomed.append(name)
                        return

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
            return
        name = make_url(url).database
        assert name is not None
        # Reuse (the background thread first cuts off what the test left connected) or drop at the end (with
        # FORCE). Nothing waits here: pg_terminate_backend's own wait polls every 100 ms, and the audit group
        # commit's writer of almost every test was still connected, so waiting here cost each test 0.1 s.
        if name in self._copies:
            self._used.put(name)
        else:
            self._doomed.append(name)

    def _cut_off(self, name: str) -> bool:
        """End every connection to `name` and wait (up to 10 s) until they are gone; False if some remain."""
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            for _ in range(2000):
                left = conn.execute(b"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    b"WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
                if left == (0,):
                    return True
                time.sleep(0.005)
        return False

    def _drop_many(self, names: list[str]) -> None:
        if names:
            with ThreadPoolExecutor(DROP_CONNECTIONS) as pool:
                list(pool.map(lambda name: self._admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
                              names))

    def close(self) -> None:
        if self.kind == "postgresql":
            self._stop.set()
            self._maker.join(timeout=30)
            self._drop_many(list(dict.fromkeys([*self._copies, *self._doomed])))
            self._admin_exec(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')


@dataclass
class _Contents:
    """A migrated database's rows and sequences, and its shape: what a used copy is put back to."""

    tables: list[str]
    seeded: dict[str, bytes]  # table -> its rows as COPY text
    sequences: dict[str, tuple[int, bool]]  # sequence -> (value, is_called) for setval
    shape: str

    @classmethod
    def of(cls, dsn: str) -> _Contents:
        with psycopg.connect(dsn, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
            seeded = {}
            for table in tables:
                if conn.execute(f"SELECT EXISTS (SELECT FROM {table})".encode()).fetchone() == (True,):
                    seeded[table] = _copy_out(conn, table)
            sequences = {f"{schema}.{name}": (value if value is not None else start, value is not None)
                         for schema, name, value, start in conn.execute(
                             "SELECT quote_ident(schemaname), quote_ident(sequencename), last_value, start_value "
                             "FROM pg_sequences")}
            shape = conn.execute(SHAPE.encode()).fetchone()
        assert shape is not None
        return cls(tables, seeded, sequences, shape[0])

    def restore(self, dsn: str) -> bool:
        """Put a used copy back as migrated; False (and nothing changed) when its shape is not the template's."""
        with psycopg.connect(dsn) as conn:
            shape = conn.execute(SHAPE.encode()).fetchone()
            others = conn.execute(b"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  b"AND pid <> pg_backend_pid()").fetchone()
            if shape is None or shape[0] != self.shape or others != (0,):
                return False
            # Replica role: no triggers (append-only guards, foreign keys), so any order empties every table.
            # A seeded table the test left as it was is not touched, so its rows keep their physical order.
            conn.execute(b"SET LOCAL session_replication_role = replica")
            for table in self.tables:
                rows = self.seeded.get(table)
                if rows is not None and _copy_out(conn, table) == rows:
                    continue
                conn.execute(f"DELETE FROM {table}".encode())
                if rows is not None:
                    with conn.cursor().copy(f"COPY {table} FROM STDIN".encode()) as copy:
                        copy.write(rows)
            for sequence, (value, called) in self.sequences.items():
                conn.execute("SELECT setval(%s::regclass, %s, %s)", (sequence, value, called))
            conn.commit()
        return True


def _copy_out(conn: psycopg.Connection[Any], table: str) -> bytes:
    with conn.cursor().copy(f"COPY {table} TO STDOUT".encode()) as copy:
        return b"".join(bytes(chunk) for chunk in copy)
