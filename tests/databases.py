"""Throwaway test databases: migrate a template once per engine, copy it for every test."""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from app import migrate

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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
            # Copying a template takes PostgreSQL ~0.4 s: make the next copies while the current test runs.
            self._ready: queue.Queue[str] = queue.Queue(maxsize=2)
            self._stop = threading.Event()
            self._maker = threading.Thread(target=self._prefetch, name="pg-copies", daemon=True)
            self._maker.start()

    @staticmethod
    def sqlite_url(path: Path) -> str:
        return f"sqlite:///{path.as_posix()}"

    def _pg_url(self, name: str) -> str:
        return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)

    def _admin_exec(self, sql: str) -> None:
        engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def empty(self) -> str:
        """A brand-new database with no schema at all (for the migration tests)."""
        name = f"{self.prefix}_e{next(self._names)}"
        if self.kind == "sqlite":
            return self.sqlite_url(self.workdir / f"{name}.db")
        self._admin_exec(f'CREATE DATABASE "{name}"')
        return self._pg_url(name)

    def copy(self) -> str:
        """A migrated database of its own for one test."""
        if self.kind == "sqlite":
            name = f"{self.prefix}_{next(self._names)}"
            path = self.workdir / f"{name}.db"
            shutil.copyfile(self.template_path, path)
            return self.sqlite_url(path)
        return self._pg_url(self._ready.get(timeout=120))

    def _prefetch(self) -> None:
        while not self._stop.is_set():
            name = f"{self.prefix}_{next(self._names)}"
            self._admin_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
            while True:
                try:
                    self._ready.put(name, timeout=0.2)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        self._admin_exec(f'DROP DATABASE IF EXISTS "{name}"')
                        return

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(make_url(url).database + suffix).unlink(missing_ok=True)  # type: ignore[operator]
        else:
            self._admin_exec(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        if self.kind == "postgresql":
            self._stop.set()
            self._maker.join(timeout=30)
            while not self._ready.empty():
                self._admin_exec(f'DROP DATABASE IF EXISTS "{self._ready.get()}"')
            self._admin_exec(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
