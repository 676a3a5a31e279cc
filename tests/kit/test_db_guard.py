"""The watchdog that bounds PostgreSQL calls must not turn a late but successful ping into a failed request."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import db_guard

PATIENTS = "/api/v1/patients"


def test_disarm_says_whether_the_watchdog_already_fired(engine_kind, db_url):
    if engine_kind != "postgresql":
        pytest.skip("the watchdog guards PostgreSQL connections")
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    watchdog = db_guard.Watchdog()
    with psycopg.connect(dsn, autocommit=True) as in_time, psycopg.connect(dsn, autocommit=True) as late:
        assert watchdog.arm(in_time, 5.0) and watchdog.disarm(in_time)
        assert in_time.execute("SELECT 1").fetchone() == (1,)
        assert watchdog.arm(late, 0.05)
        late.execute("SELECT 1")  # answered at once...
        time.sleep(0.5)  # ...but this thread comes back after the deadline: the watchdog has shut the socket
        assert not watchdog.disarm(late)
        with pytest.raises(psycopg.OperationalError):
            late.execute("SELECT 1")


def test_every_engine_shares_one_watchdog_thread(engine_kind, db_url):
    """Its thread never ends: one per engine left a thread ticking behind every engine ever made."""
    if engine_kind != "postgresql":
        pytest.skip("the watchdog guards PostgreSQL connections")
    def watchdogs() -> int:
        return [t.name for t in threading.enumerate()].count("imschart-db-watchdog")

    engines = [create_engine(db_url) for _ in range(3)]
    before = watchdogs()
    try:
        for engine in engines:
            db_guard.guard_postgresql(engine, connect_timeout=5, statement_timeout=5)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        for engine in engines:
            engine.dispose()
    assert watchdogs() <= before + 1
    assert db_guard.WATCHDOG._thread is not None and db_guard.WATCHDOG._thread.is_alive()


def test_a_ping_answered_after_its_deadline_costs_a_reconnect_not_a_503(engine_kind, app, client, staff, caplog,
                                                                          monkeypatch):
    if engine_kind != "postgresql":
        pytest.skip("the checkout ping and its deadline are PostgreSQL's")
    member = staff("therapist")
    assert client.get(PATIENTS, headers=member.headers).status_code == 200  # pooled connections, pinged next time
    dialect = app.state.engine.dialect
    real_ping = dialect.do_ping

    def late_ping(dbapi_conn):  # type: ignore[no-untyped-def]
        answered = real_ping(dbapi_conn)
        time.sleep(db_guard.PING_DEADLINE + 0.5)  # a busy machine: the thread waits for the CPU past the deadline
        return answered

    monkeypatch.setattr(dialect, "do_ping", late_ping)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert client.get(PATIENTS, headers=member.headers).status_code == 200
    assert not [r.getMessage() for r in caplog.records if "database unavailable" in r.getMessage()]
