"""Bounded waits on PostgreSQL: a stopped or frozen database costs seconds, never a hung request.

Three guards, all configured from Settings (`IMS_DB_*`):

- **connect timeout** (libpq `connect_timeout`) and a **statement timeout** set on the session, which
  the server enforces while it is alive;
- a **client-side deadline** for every statement, commit, rollback and checkout ping: a frozen
  (SIGSTOPped) server still has its socket ACKed by the kernel, so neither the server's timeout nor
  TCP keepalives ever fire. A watchdog thread shuts the socket of a connection whose call outlived its
  deadline; the driver then raises a disconnect, SQLAlchemy discards the connection and the request
  answers 503;
- a **circuit breaker** on new connections: while the database is known to be down, requests fail at
  once instead of waiting out the connect timeout, and one background thread tries to connect every
  `PROBE_INTERVAL`; its first success closes the breaker. Recovery needs no restart.

Outage state changes are logged once each (`app.kit.db_faults.outage`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

from app.kit.db_faults import outage

PROBE_INTERVAL = 1.0
GRACE = 2.0  # the server's own statement timeout answers first when it can
PING_DEADLINE = 1.0  # `SELECT 1` on a live server takes milliseconds; a failed ping only means "reconnect"


class Watchdog:
    """One thread for all connections: shuts the socket of any call that outlived its deadline.

    The process shares one (`WATCHDOG`), whatever the number of engines: its thread never ends, so one per engine
    left a thread waking ten times a second behind every engine ever made (the test suite makes one per test, and
    its workers ended up running hundreds of them).
    """

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, weakref.ref[Any], int]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_conn: Any, seconds: float) -> bool:
        """Guard the call about to be made; False when the connection is already closed (nothing to guard)."""
        try:
            fd = dbapi_conn.fileno()
        except Exception:
            return False
        with self._lock:
            self._armed[id(dbapi_conn)] = (time.monotonic() + seconds, weakref.ref(dbapi_conn), fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="imschart-db-watchdog", daemon=True)
                self._thread.start()
        return True

    def disarm(self, dbapi_conn: Any) -> bool:
        """End the guard; False when the watchdog already fired: the socket was shut, even if the call returned
        (on a busy machine a thread can get the CPU back only after its deadline has passed)."""
        with self._lock:
            return self._armed.pop(id(dbapi_conn), None) is not None

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self._lock:
                due = [k for k, (deadline, _, _) in self._armed.items() if deadline <= now]
                for k in due:
                    _, ref, fd = self._armed.pop(k)
                    conn = ref()
                    if conn is not None and not getattr(conn, "closed", True) and _fileno(conn) == fd:
                        _cut(fd)


WATCHDOG = Watchdog()


def _fileno(conn: Any) -> int | None:
    try:
        return int(conn.fileno())
    except Exception:
        return None


def _cut(fd: int) -> None:
    """Shut the socket down (not close: the fd stays the driver's), so its blocked read returns at once."""
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


class Breaker:
    """Open after a failed connect: requests fail at once while one background thread probes for the
    database's return; its first successful connect closes the breaker again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = False
        self._prober: threading.Thread | None = None

    def allow(self) -> bool:
        return not self.open

    def trip(self, connect: Any) -> None:
        with self._lock:
            self.open = True
            if self._prober is None or not self._prober.is_alive():
                self._prober = threading.Thread(target=self._probe, args=(connect,), name="imschart-db-probe",
                                                 daemon=True)
                self._prober.start()

    def reset(self) -> None:
        self.open = False
        outage.up()

    def _probe(self, connect: Any) -> None:
        while self.open:
            started = time.monotonic()
            try:
                connect().close()
            except Exception:
                time.sleep(max(0.0, PROBE_INTERVAL - (time.monotonic() - started)))
                continue
            self.reset()


def _dbapi(conn: Any) -> Any:
    """The driver connection behind a SQLAlchemy Connection, or None once it was invalidated (asking
    `conn.connection` then would raise and mask the error being handled)."""
    if conn.invalidated or conn.closed:
        return None
    fairy = conn._dbapi_connection
    return None if fairy is None else fairy.dbapi_connection


def guard_postgresql(engine: Engine, *, connect_timeout: float, statement_timeout: float) -> None:
    watchdog, breaker = WATCHDOG, Breaker()
    statement_deadline = statement_timeout + GRACE

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if not breaker.allow():
            raise dialect.loaded_dbapi.OperationalError("database unavailable (a background probe is waiting "
                                                        "for it to return)")
        try:
            conn = dialect.connect(*cargs, **cparams)
        except Exception as exc:
            outage.down(exc)
            breaker.trip(lambda: dialect.connect(*cargs, **cparams))
            raise
        breaker.reset()
        return conn

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """pool_pre_ping, under a deadline: a frozen server must not hang the checkout."""
        if record.info.pop("fresh", False):
            return
        armed = watchdog.arm(dbapi_conn, min(connect_timeout, PING_DEADLINE))
        try:
            engine.dialect.do_ping(dbapi_conn)  # the pool's own pre-ping: leaves no transaction open
        except Exception as exc:  # the pool reconnects; the connect decides whether the database is down
            watchdog.disarm(dbapi_conn)
            raise sa_exc.DisconnectionError("ping failed") from exc
        if armed and not watchdog.disarm(dbapi_conn):
            # The ping answered, but this thread got the CPU back only after its deadline and the watchdog has
            # shut the socket: handing the connection on would fail the request's first statement with a 503.
            raise sa_exc.DisconnectionError("ping outlived its deadline")
        outage.up()

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["fresh"] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, *_: Any) -> None:
        if (dbapi_conn := _dbapi(conn)) is not None:
            watchdog.arm(dbapi_conn, statement_deadline)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, *_: Any) -> None:
        if (dbapi_conn := _dbapi(conn)) is not None:
            watchdog.disarm(dbapi_conn)

    @event.listens_for(engine, "handle_error")
    def _error(ctx: Any) -> None:
        if ctx.connection is not None and (dbapi_conn := _dbapi(ctx.connection)) is not None:
            watchdog.disarm(dbapi_conn)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _arm_end(conn: Any) -> None:  # disarmed on checkin (or by the next statement's arming)
        if (dbapi_conn := _dbapi(conn)) is not None:
            watchdog.arm(dbapi_conn, statement_deadline)

    @event.listens_for(engine.pool, "reset")
    def _arm_reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
        watchdog.arm(dbapi_conn, statement_deadline)

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is not None:
            watchdog.disarm(dbapi_conn)
