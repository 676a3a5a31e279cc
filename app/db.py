"""Engine and the per-request session: one transaction per request."""

from __future__ import annotations

import contextlib
import json
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db_guard import guard_postgresql
from app.kit.audit import CHANGES_AT_BEGIN, GROUP_COMMIT, READ_REQUEST, WROTE, GroupCommit
from app.kit.db_faults import outage

_READ_OPTION = "imschart_read"  # execution option: begin a deferred (read) transaction on SQLite
_READ_BIND = "read_bind"  # sessionmaker info: the engine carrying that option
_BUSY_SECONDS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
# How each PostgreSQL engine was made: the group commit's writer is a twin of it (same timeouts and guards).
_MADE_WITH: weakref.WeakKeyDictionary[Engine, dict[str, Any]] = weakref.WeakKeyDictionary()


def load_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson, several times faster than the standard library on the clinical notes'
    content (a chart decodes a dozen of them per request), with the standard library as the fallback for what
    orjson refuses and `json.dumps` may have written (NaN, Infinity, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str, *, connect_timeout: float | None = None, pool_timeout: float | None = None,
                statement_timeout: float | None = None, **kwargs: Any) -> Engine:
    """The timeouts bound every wait on PostgreSQL (see app.db_guard); None leaves that wait unbounded
    (the command-line tools: an export or `audit verify` may run long statements on purpose)."""
    # hide_parameters: an error's text (and so any log line or traceback) never quotes row values.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_deserializer", load_json)
    if url.startswith("sqlite"):  # the statement timeout is how long a writer waits for the write lock
        private_sqlite_file(url)
        busy = statement_timeout or 30
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy}, **kwargs)
        _configure_sqlite(engine, busy)
        _BUSY_SECONDS[engine] = busy
        return engine
    made_with = {"connect_timeout": connect_timeout, "pool_timeout": pool_timeout,
                 "statement_timeout": statement_timeout, **kwargs}
    if connect_timeout is None or statement_timeout is None:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        _track_postgresql_writes(engine)
        _MADE_WITH[engine] = made_with
        return engine
    connect_args = {"connect_timeout": max(1, round(connect_timeout)),
                    "options": f"-c statement_timeout={int(statement_timeout * 1000)}"}
    if pool_timeout is not None:
        kwargs["pool_timeout"] = pool_timeout
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    guard_postgresql(engine, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    _track_postgresql_writes(engine)
    _MADE_WITH[engine] = made_with
    return engine


def _track_postgresql_writes(engine: Engine) -> None:
    """Mark a transaction that ran anything but a SELECT: app.kit.audit hands only pure reads' audit rows
    to the group commit (the rows of a transaction that wrote must commit atomically with its writes).

    Conservative on purpose: a `SET LOCAL`, a `WITH` or any other non-SELECT counts as a write, which only
    sends that request down the per-request audit path.
    """

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info[WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not conn.info.get(WROTE) and statement.lstrip()[:6].upper() != "SELECT":
            conn.info[WROTE] = True


def private_sqlite_file(url: str) -> None:
    """The database holds every chart: create it 0600 (SQLite gives its -wal and -shm files the same mode)
    and tighten a file an earlier version left readable by others."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if existing.exists() and existing.stat().st_mode & 0o077:
            existing.chmod(0o600)


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    """WAL for concurrent readers, FULL sync so a committed note survives power loss, FKs enforced.

    Writes start with BEGIN IMMEDIATE: two deferred transactions that both try to upgrade to a write lock
    would otherwise fail at once with "database is locked" instead of waiting for busy_timeout. A GET/HEAD
    request's session (`get_session`) begins deferred instead: a WAL read snapshot that takes no lock; its
    audit rows are written by the group commit (app.kit.audit.GroupCommit), and should it write anything
    else, app.kit.audit upgrades it to BEGIN IMMEDIATE at commit. The row-change count at BEGIN tells
    app.kit.audit whether a transaction has written yet.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info[CHANGES_AT_BEGIN] = conn.connection.dbapi_connection.total_changes
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_OPTION) else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine, *, audit_key: bytes) -> sessionmaker[Session]:
    # expire_on_commit=False: responses are serialised after the commit from already-loaded state.
    # The audit key rides on each session for the hash chain written at commit (app.kit.audit).
    # Reads' audit rows are written in batches by one GroupCommit per sessionmaker (see get_session).
    committer = GroupCommit()
    info: dict[str, Any] = {"audit_key": audit_key, GROUP_COMMIT: committer}
    if engine.dialect.name == "postgresql" and engine in _MADE_WITH:
        # Same reason as SQLite's below: the reads waiting for a batch each hold a pooled connection.
        made_with = {**_MADE_WITH[engine], "pool_size": 1, "max_overflow": 0}
        writer = make_engine(engine.url.render_as_string(hide_password=False), **made_with)
        committer.factory = sessionmaker(bind=writer, expire_on_commit=False, autoflush=False,
                                         info={"audit_key": audit_key})
    elif engine.dialect.name == "sqlite":
        info[_READ_BIND] = engine.execution_options(**{_READ_OPTION: True})
        # The group commit writes on a connection of its own: the reads waiting for it each hold one of the
        # request pool's connections (their read transaction ends only after their batch), and a full pool
        # must never keep the batch that would free them from starting.
        busy = _BUSY_SECONDS.get(engine, 30.0)
        writer = create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": busy},
                               pool_size=1, max_overflow=0, hide_parameters=True)
        _configure_sqlite(writer, busy)
        committer.factory = sessionmaker(bind=writer, expire_on_commit=False, autoflush=False,
                                         info={"audit_key": audit_key})
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False, info=info)


class CommitHandoff:
    """Set on the ASGI scope by the idempotency middleware: it commits the request's transaction itself.

    The stored response of an Idempotency-Key must commit atomically with the write it describes, and
    the response exists only once the handler has returned; so the session is flushed here and handed
    over, and the middleware writes the response into it and commits both, before anything is sent.
    """

    def __init__(self) -> None:
        self.session: Session | None = None


COMMIT_HANDOFF = "imschart.commit_handoff"


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the handler returns, roll back on any exception; services only flush()."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    reading = request.method in ("GET", "HEAD")
    read_bind = factory.kw["info"].get(_READ_BIND) if reading else None
    session: Session = factory() if read_bind is None else factory(bind=read_bind)
    if reading and factory.kw["info"][GROUP_COMMIT].factory is not None:
        # The audit rows of a pure read go to the group commit (SQLite: in a read snapshot, no write lock).
        session.info[READ_REQUEST] = True
    request.state.db = session
    handoff: CommitHandoff | None = request.scope.get(COMMIT_HANDOFF)
    try:
        yield session
        if handoff is not None and handoff.session is None:
            session.flush()  # errors still surface here, as the handler's own
            handoff.session = session
            return
        session.commit()
        outage.up()  # a commit went through: if an outage was on record, it is over (no-op otherwise)
    except BaseException:
        session.rollback()
        raise
    finally:
        if handoff is None or handoff.session is not session:
            session.close()


# scope="function": the commit runs before the response is sent, so a client never sees a
# success for a write that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
