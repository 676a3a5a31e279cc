"""Alembic, driven from the installed package: works from any directory after `pip install .`.

Migrations run under a database-wide lock, so `serve`, `worker` and `migrate` (or several replicas) may
start at the same moment against an empty database: one migrates, the others wait and then find the
schema at head. PostgreSQL: a session advisory lock (advisory lock ids are per database). SQLite: an
exclusive `flock` on a file beside the database (SQLite runs DDL outside transactions, so its own
locking cannot keep two migrations apart).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url, pool, text

log = logging.getLogger("imschart.migrate")
# Any fixed 64-bit number: the advisory lock every imschart process takes to migrate a database.
ADVISORY_LOCK_ID = 0x494D5343_48415254  # "IMSCHART"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("app.migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock; a second holder waits (logging that it does) until it is free."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                if not conn.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID}):
                    log.warning("Another process is migrating the database; waiting for it to finish")
                    conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
        finally:
            engine.dispose()
    elif parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and sys.platform != "win32":
        import fcntl

        path = Path(str(parsed.database))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(f"{path.name}.migrate-lock").open("a") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("Another process is migrating the database; waiting for it to finish")
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
    else:  # an in-memory database belongs to one process
        yield


def upgrade(url: str, revision: str = "head", *, lock: bool = True) -> None:
    """Migrate to `revision`; `lock=False` only inside a `migration_lock(url)` the caller already holds."""
    if not lock:
        command.upgrade(alembic_config(url), revision)
        return
    with migration_lock(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    with migration_lock(url):
        command.downgrade(alembic_config(url), revision)


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with this package. Cached: reading the scripts (Alembic imports every one of
    them) took ~30 ms, once per app; the scripts cannot change under a running process."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
